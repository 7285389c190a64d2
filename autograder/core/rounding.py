"""Does the network's float pass give one answer, whatever order it adds in?

A float matrix product may add its terms in another order for a single input than for a
batch of thousands (the matrix library picks another kernel), with more threads, or with
fused multiply-adds.  The results can differ in the last bits, and large weights that cancel
turn last bits into wrong answers: a network can be right in the sweep's batches and wrong
on every input called alone.  So the verdict must not rest on one order.  From the
description alone (docs/theory.md §5, "One answer in every order"):

1. **Over a whole domain**, by interval arithmetic, each value of each op is
   * *exact* when every partial sum that computes it is a multiple of one power of two 2^-g
     and at most 2^p of those in size (p = 24 for float32, 53 for float64): nothing rounds,
     in any order;
   * *the same in every order* when it is exact, or rounds once: an elementwise op (one IEEE
     operation gives one result for the same inputs), or a sum of at most two terms whose
     products are exact (power-of-two weights, no overflow or underflow).
   A network whose output is the same in every order computes the same bits in every call,
   so the sweep's batches stand for every call.
2. **Otherwise, at every swept input**, a bound on how far any faithful evaluation can be from
   the exact value: for a sum of k terms in any order, |computed − exact| <= γ_k·Σ|terms| with
   γ_k = k·u / (1 − k·u) and u = 2^-p (Higham, *Accuracy and Stability of Numerical
   Algorithms*, §3.1; it holds with fused multiply-adds too), one rounding of u·|result| for
   an elementwise op, and the error its inputs carry, through the layers; a ReLU whose input
   is negative in every evaluation gives exactly 0.  The bound must stay below the margin
   (1/2 for the exact riddles).

Pure functions of the description; the grader calls them (verify.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import Network, Op
from .ranges import affine_forms, sum_bound

BITS = {"float32": 24, "float64": 53}
FINEST = {"float32": 149, "float64": 1074}  # 2^-FINEST is the smallest subnormal
LARGEST = {"float32": 2.0**126, "float64": 2.0**1022}  # well inside the float range
NO_GRID = np.inf  # a value on no known power-of-two grid (it may have rounded)
ANY_GRID = -np.inf  # the value 0: on every grid
SLACK = 1 + 2.0**-40  # our own float64 rounding, made up for in every bound


def _grids(a: np.ndarray) -> np.ndarray:
    """Entrywise, the smallest g with the entry a multiple of 2^-g (ANY_GRID for 0)."""
    a = np.asarray(a, dtype=np.float64)
    out = np.full(a.shape, ANY_GRID)
    nz = a != 0
    m, e = np.frexp(np.abs(a[nz]))  # |a| = m·2^e, m in [1/2, 1)
    k = (m * 2.0**53).astype(np.int64)  # the 53-bit integer mantissa
    out[nz] = -(e.astype(np.int64) - 53 + np.log2((k & -k).astype(np.float64)).astype(np.int64))
    return out


def _times(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The grid of products of values on grids g and h (broadcast)."""
    g, h = np.broadcast_arrays(g, h)
    with np.errstate(invalid="ignore"):
        out = g + h
    out = np.where((g == NO_GRID) | (h == NO_GRID), NO_GRID, out)
    return np.where((g == ANY_GRID) | (h == ANY_GRID), ANY_GRID, out)


def _fits(size: np.ndarray, grid: np.ndarray, net: Network) -> np.ndarray:
    """Are all multiples of 2^-grid up to `size` values of the float type (so nothing rounds)?

    Values on the grid below 2^b of its steps (b: the mantissa of our own arithmetic, 53 bits in
    float64, 64 in x86's extended floats) are computed exactly by it too, so `size` is then
    exact; and a sum that exceeds that never comes out below it.  Hence at most 2^p steps when
    b > p, and fewer than 2^b otherwise."""
    size = np.asarray(size)
    ours = 2.0 ** (np.finfo(size.dtype).nmant + 1) if size.dtype.kind == "f" else 2.0**53
    with np.errstate(all="ignore"):
        scaled = size * np.exp2(np.where(np.isfinite(grid), grid, 0.0))
    most = 2.0 ** BITS[net.dtype]
    fits = scaled <= most if ours > most else scaled < ours
    ok = np.isfinite(grid) & (grid <= FINEST[net.dtype]) & fits
    return (ok & (size < LARGEST[net.dtype])) | (grid == ANY_GRID)


def _unit(net: Network) -> float:
    """The unit roundoff 2^-p, plus 2^-52 for our own float64 arithmetic that computes the bounds."""
    return 2.0 ** -BITS[net.dtype] + 2.0**-52


def _pow2(a: np.ndarray) -> np.ndarray:
    """Entrywise: is it 0 or ± a power of two (so multiplying by it is exact)?"""
    return (a == 0) | (np.frexp(np.abs(a))[0] == 0.5)


@dataclass
class Values:
    """One op's values: at every point of a batch (value, err, grid have shape (P, F)), or over a
    whole domain (P = 1: lo/hi the range of the exact values, err the largest error)."""

    lo: np.ndarray
    hi: np.ndarray
    err: np.ndarray  # bound on |any faithful evaluation − exact value|
    grid: np.ndarray  # exact values are multiples of 2^-grid (NO_GRID: unknown)
    same: np.ndarray  # bool: the same bits in every evaluation order

    @property
    def size(self) -> np.ndarray:
        return np.maximum(np.abs(self.lo), np.abs(self.hi))

    def take(self, idx: np.ndarray) -> Values:
        return Values(self.lo[:, idx], self.hi[:, idx], self.err[:, idx], self.grid[:, idx], self.same[:, idx])


def propagate(net: Network, first: Values, forms: list[Any] | None = None) -> Values:
    """Values of every op from those of the input, at points (lo == hi) or over a box; `forms`
    (per op, the affine forms of its exact values over the box, ranges.py) narrow the intervals
    and bound the partial sums of short sums with the dependence between their terms kept."""
    vals: list[Values] = []
    with np.errstate(all="ignore"):
        for k, op in enumerate(net.ops):
            if forms is not None and vals:
                last, (lo_k, hi_k) = vals[-1], forms[k - 1].bounds()
                last.lo, last.hi = np.maximum(last.lo, lo_k.reshape(1, -1)), np.minimum(last.hi, hi_k.reshape(1, -1))
            ins = [vals[a] for a in op.args]
            if op.op == "input":
                vals.append(first)
            elif op.op == "linear":
                vals.append(_linear(op, ins[0], net, forms[op.args[0]] if forms is not None else None))
            elif op.op == "relu":
                vals.append(_relu(ins[0]))
            elif op.op in ("add", "sub"):
                a, b = ins
                lo, hi = (a.lo + b.lo, a.hi + b.hi) if op.op == "add" else (a.lo - b.hi, a.hi - b.lo)
                vals.append(_once(lo, hi, a.err + b.err, a.size + a.err + b.size + b.err,
                                  np.maximum(a.grid, b.grid), a.same & b.same,
                                  np.maximum(a.size, b.size), net))
            elif op.op in ("shift", "scale"):
                vals.append(_with_const(op, ins[0], net))
            elif op.op == "gather":
                idx = np.asarray(op.index, dtype=np.int64).ravel()
                joined = Values(*(np.concatenate([getattr(v, f) for v in ins], axis=1)
                                  for f in ("lo", "hi", "err", "grid", "same")))
                vals.append(joined.take(idx))
            else:  # sigmoid: its slope is largest nearest 0 (1/4 at 0); its own rounding taken as
                # 4 units of 2^-p (it lies in (0, 1))
                x = ins[0]
                lo, hi = 1 / (1 + np.exp(-(x.lo - x.err))), 1 / (1 + np.exp(-(x.hi + x.err)))
                nearest = 1 / (1 + np.exp(-np.clip(0.0, x.lo - x.err, x.hi + x.err)))
                slope = nearest * (1 - nearest) * SLACK
                vals.append(Values(lo, hi, x.err * slope + 4 * _unit(net), np.full(lo.shape, NO_GRID),
                                   np.zeros(lo.shape, dtype=bool)))
    return vals[net.output]


def _linear(op: Op, x: Values, net: Network, form: Any = None) -> Values:
    """A sum of k terms in any order: |computed − exact| <= γ_k·Σ|terms| plus what the inputs
    carry through |W|; exact where every input is and every partial sum fits on its grid."""
    w = np.asarray(op.weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if op.bias is None else np.asarray(op.bias, dtype=np.float64)
    p, k = x.lo.shape[0], w.shape[1]
    lo_in, hi_in = x.lo.reshape(p, -1, k), x.hi.reshape(p, -1, k)
    err_in, grid_in = x.err.reshape(p, -1, k), x.grid.reshape(p, -1, k)
    wp, wn, aw = np.maximum(w, 0), np.minimum(w, 0), np.abs(w)
    lo = lo_in @ wp.T + hi_in @ wn.T + b
    hi = hi_in @ wp.T + lo_in @ wn.T + b
    size_in = np.maximum(np.abs(lo_in), np.abs(hi_in))
    total = (size_in + err_in) @ aw.T + np.abs(b)  # Σ|terms| of any evaluation
    used = (w != 0).astype(np.float64)
    maybe = ((size_in > 0) | (err_in > 0)).astype(np.float64)  # inputs that may be nonzero
    terms = maybe @ used.T + (b != 0)  # the terms that may be nonzero, per row
    inexact_in = (err_in > 0).astype(np.float64) @ used.T > 0
    top = lo_in[..., None, :] * wn + hi_in[..., None, :] * wp  # the largest value of each term
    bottom = lo_in[..., None, :] * wp + hi_in[..., None, :] * wn
    bias = np.broadcast_to(b[:, None], top.shape[:-1] + (1,))
    top, bottom = np.concatenate([top, bias], axis=-1), np.concatenate([bottom, bias], axis=-1)
    term_grid = np.concatenate([np.where(w != 0, _times(grid_in[..., None, :], _grids(w)), ANY_GRID),
                                np.broadcast_to(_grids(b)[:, None], bias.shape)], axis=-1)
    term_grid = np.where((top == 0) & (bottom == 0), ANY_GRID, term_grid)
    grid = term_grid.max(axis=-1)
    fit = _partial_sums_fit(top, bottom, term_grid, net)
    if form is not None and not fit.all():
        fit = fit | _short_sums_fit(op, form, term_grid, net)
    exact = ~inexact_in & fit
    u = _unit(net)
    gamma = (k + 1) * u / (1 - (k + 1) * u)
    err = err_in @ aw.T + gamma * total * SLACK + (k + 1) * 2.0 ** -FINEST[net.dtype]
    err = np.where(exact, 0.0, np.where(total < LARGEST[net.dtype], err, np.inf))  # past it: overflow
    # the same in every order: exact, or one rounding (one term; or two with exact products)
    same_in = (~x.same.reshape(p, -1, k)).astype(np.float64) @ used.T == 0
    products_exact = np.all(_pow2(w), axis=1) & np.all(np.where(
        w != 0, (aw >= 1) | (_times(grid_in[..., None, :], _grids(w)) <= FINEST[net.dtype]), True), axis=-1)
    once = (terms <= 1) | ((terms <= 2) & products_exact & (total < LARGEST[net.dtype]))
    same = same_in & (exact | once)
    return Values(*(a.reshape(p, -1) for a in (lo, hi, err, np.where(exact, grid, NO_GRID), same)))


def _partial_sums_fit(top: np.ndarray, bottom: np.ndarray, grid: np.ndarray, net: Network) -> np.ndarray:
    """Is every partial sum of these terms, in any order, a value of the float type?

    A partial sum is the sum of some of the terms, on the grid of the finest of them.  For the
    sums whose finest term is term i: when no other term is on i's grid, they lie within
    [bottom_i − N, top_i + P], with P (N) the positive (negative) parts of the coarser terms;
    otherwise within [−N, P] of all terms on i's grid or coarser.  Each range must fit."""
    pos, neg = np.maximum(top, 0), np.maximum(-bottom, 0)
    if top.shape[-1] > 16:  # many terms: one range for all, on the finest grid
        whole = np.maximum(pos.sum(axis=-1), neg.sum(axis=-1))
        return _fits(whole, grid.max(axis=-1), net)
    g_i, g_j = grid[..., :, None], grid[..., None, :]
    coarser, at_most = g_j < g_i, g_j <= g_i
    alone = (g_j == g_i).sum(axis=-1) == 1
    up = np.where(alone, top + (coarser * pos[..., None, :]).sum(axis=-1),
                  (at_most * pos[..., None, :]).sum(axis=-1))
    down = np.where(alone, -bottom + (coarser * neg[..., None, :]).sum(axis=-1),
                    (at_most * neg[..., None, :]).sum(axis=-1))
    return np.all(_fits(np.maximum(np.abs(up), np.abs(down)), grid, net), axis=-1)


def _short_sums_fit(op: Op, form: Any, term_grid: np.ndarray, net: Network) -> np.ndarray:
    """Over a box: for each row of at most 5 terms, every partial sum (every subset of its terms)
    bounded with its terms' dependence kept (an affine form), on the grid of its finest term.
    Rows with more terms are left to `_partial_sums_fit` (False here)."""
    w = np.asarray(op.weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if op.bias is None else np.asarray(op.bias, dtype=np.float64)
    groups, rows, k = term_grid.shape[1], w.shape[0], w.shape[1]
    out = np.zeros((1, groups, rows), dtype=bool)
    if groups * rows > 4096:
        return out
    for q in range(groups):
        for j in range(rows):
            terms = [i for i in range(k) if w[j, i] != 0 and term_grid[0, q, j, i] != ANY_GRID]
            with_bias = b[j] != 0
            if len(terms) + with_bias > 5:
                continue
            ok = True
            for mask in range(1, 2 ** (len(terms) + with_bias)):
                chosen = [terms[i] for i in range(len(terms)) if mask >> i & 1]
                bias = b[j] if with_bias and mask >> len(terms) & 1 else 0.0
                grids = [term_grid[0, q, j, i] for i in chosen] + ([term_grid[0, q, j, k]] if bias else [])
                size = sum_bound(form, w[j, chosen], np.array([q * k + i for i in chosen], dtype=np.int64), bias)
                if not _fits(np.array([size], dtype=np.longdouble), np.array([max(grids)]), net)[0]:
                    ok = False
                    break
            out[0, q, j] = ok
    return out


def _relu(x: Values) -> Values:
    """1-Lipschitz, so the error carries over; exactly 0 (in every order) wherever every faithful
    evaluation of its input is negative."""
    zero = x.hi + x.err < 0
    return Values(np.maximum(x.lo, 0), np.maximum(x.hi, 0), np.where(zero, 0.0, x.err),
                  np.where(zero, ANY_GRID, x.grid), x.same | zero)


def _once(lo: np.ndarray, hi: np.ndarray, carried: np.ndarray, total: np.ndarray, grid: np.ndarray,
          same: np.ndarray, largest: np.ndarray, net: Network) -> Values:
    """An elementwise op: one rounding of at most u·|result| (or half the smallest subnormal),
    none where its inputs are exact and its operands and result fit the mantissa on their grid."""
    size = np.maximum(largest, np.maximum(np.abs(lo), np.abs(hi)))
    exact = (carried == 0) & _fits(size, grid, net)
    u = _unit(net)
    err = np.where(exact, 0.0, carried + u * total * SLACK + 2.0 ** -FINEST[net.dtype])
    err = np.where(exact | (total < LARGEST[net.dtype]), err, np.inf)  # past it: overflow
    return Values(lo, hi, err, np.where(exact, grid, NO_GRID), same)


def _with_const(op: Op, x: Values, net: Network) -> Values:
    c = np.broadcast_to(np.asarray(op.const, dtype=np.float64), op.shape).reshape(1, -1)
    if op.op == "shift":
        return _once(x.lo + c, x.hi + c, x.err, x.size + x.err + np.abs(c), np.maximum(x.grid, _grids(c)),
                     x.same, np.maximum(x.size, np.abs(c)), net)
    if op.divide and not (np.all(_pow2(c)) and np.all(c != 0)):
        ends = np.stack([x.lo / c, x.hi / c])
        lo, hi = ends.min(0), ends.max(0)
        return _once(lo, hi, x.err / np.abs(c), (x.size + x.err) / np.abs(c), np.full(lo.shape, NO_GRID),
                     x.same, np.maximum(np.abs(lo), np.abs(hi)), net)
    k = 1 / c if op.divide else c  # dividing by a power of two is multiplying by its exact inverse
    ends = np.stack([x.lo * k, x.hi * k])
    lo, hi = ends.min(0), ends.max(0)
    return _once(lo, hi, x.err * np.abs(k), (x.size + x.err) * np.abs(k), _times(x.grid, _grids(k)),
                 x.same, np.maximum(np.abs(lo), np.abs(hi)), net)


# ---- the two uses ------------------------------------------------------------------------------
def same_in_every_order(net: Network, lo: int, hi: int) -> bool:
    """True when the float pass computes the same bits in every order on all of [lo, hi]^arity
    (inputs above 2^p are already rounded when they reach the network: they count as such)."""
    if _rounds_once_everywhere(net, lo, hi):
        return True
    p = BITS[net.dtype]
    exact = max(abs(lo), abs(hi)) <= 2**p
    shape = (1, net.arity)
    first = Values(np.full(shape, float(lo)), np.full(shape, float(hi)),
                   np.full(shape, 0.0 if exact else float(max(abs(lo), abs(hi))) * 2.0**-p),
                   np.full(shape, 0.0 if exact else NO_GRID), np.ones(shape, dtype=bool))
    return bool(np.all(propagate(net, first).same))


def error_on_box(net: Network, lo: int, hi: int) -> float:
    """A bound on |any faithful float evaluation − exact value| of the output over all of
    [lo, hi]^arity (0 when nothing can round), for inputs the float type holds (|x| < 2^(p-1))."""
    shape = (1, net.arity)
    first = Values(np.full(shape, float(lo)), np.full(shape, float(hi)), np.zeros(shape), np.zeros(shape),
                   np.ones(shape, dtype=bool))
    return float(np.max(propagate(net, first, affine_forms(net, [lo] * net.arity, [hi] * net.arity)).err))


def _rounds_once_everywhere(net: Network, lo: int, hi: int) -> bool:
    """The quick case: no sigmoid, and every sum has one term, or two with power-of-two weights
    of at least 1 (exact products), and no value can come near overflow (interval sizes)."""
    size = [np.full(net.arity, float(max(abs(lo), abs(hi))))]
    for op in net.ops[1:]:
        ins = [size[a] for a in op.args]
        if op.op == "linear":
            w = np.asarray(op.weight, dtype=np.float64)
            b = np.zeros(w.shape[0]) if op.bias is None else np.asarray(op.bias, dtype=np.float64)
            terms = (w != 0).sum(axis=1) + (b != 0)
            big = np.abs(w) >= 1
            if not np.all((terms <= 1) | ((terms <= 2) & np.all(_pow2(w) & (big | (w == 0)), axis=1))):
                return False
            size.append((ins[0].reshape(-1, w.shape[1]) @ np.abs(w).T + np.abs(b)).ravel())
        elif op.op == "relu":
            size.append(ins[0])
        elif op.op in ("add", "sub"):
            size.append(ins[0] + ins[1])
        elif op.op in ("shift", "scale"):
            c = np.broadcast_to(np.abs(np.asarray(op.const, dtype=np.float64)), op.shape).ravel()
            if op.op == "shift":
                size.append(ins[0] + c)
            elif op.divide:
                if np.any(c == 0):
                    return False
                size.append(ins[0] / c)
            else:
                size.append(ins[0] * c)
        elif op.op == "gather":
            size.append(np.concatenate(ins)[np.asarray(op.index, dtype=np.int64).ravel()])
        else:
            return False
        if not np.all(size[-1] < LARGEST[net.dtype]):
            return False
    return True


def at_points(net: Network, points: np.ndarray) -> Values:
    """The values of the output at each point (P, arity) of integers the float type holds."""
    x = np.asarray(points, dtype=np.float64)
    first = Values(x, x.copy(), np.zeros(x.shape), _point_grids(x), np.ones(x.shape, dtype=bool))
    return propagate(net, first)


def _point_grids(x: np.ndarray) -> np.ndarray:
    """An integer input is on grid 2^0, or on a coarser one (2^-g with g < 0) for a large one."""
    return np.minimum(_grids(x), 0.0)


def first_unsafe(net: Network, chunks: Iterable[np.ndarray], margin: float) -> tuple[list[int], float] | None:
    """The first point where some evaluation order could move the output by `margin` or more
    (with the bound there), or None."""
    for pts in chunks:
        err = at_points(net, pts).err.reshape(-1)
        bad = np.flatnonzero(~(err < margin))
        if bad.size:
            i = int(bad[0])
            return [int(c) for c in pts[i]], float(err[i])
    return None


def chunk_rows(net: Network) -> int:
    """Points per batch of `at_points`, so that its largest array stays near 4 million floats."""
    widest = max([op.weight.size for op in net.ops if op.weight is not None] + [op.size for op in net.ops] + [1])
    return int(max(16, min(1 << 16, (1 << 22) // widest)))
