"""Ranges of every value of a network over a whole box of inputs, by affine arithmetic.

Interval arithmetic forgets that two values depend on the same input: for the residual fold
y − 2·ReLU(y − 2^k) it triples the range at every layer, although y stays in [0, 2^k].  An
affine form keeps the dependence: a value is c + Σ g_i·ε_i + [−r, r], with the noise
symbols ε_i in [−1, 1] shared between values (one per input coordinate, and one more for
every ReLU that changes sign on the box).  Linear ops act on forms exactly; a ReLU whose
input form spans [l, u] with l < 0 < u is replaced by λ·z + M/2 + (M/2)·ε_new, with
λ = u / (u − l) and M the largest of (1 − λ)·u and −λ·l: for any λ in [0, 1], ReLU(z) − λ·z
lies in [0, M] on [l, u].  The ranges are rounded outward for our own float64 arithmetic.

Used by rounding.py, to prove that a float pass is right on every input of a domain too
large to run (docs/theory.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network, Op

MAX_SYMBOLS = 4096  # beyond this, a new ReLU's uncertainty joins the interval part instead
WORK = np.longdouble if np.finfo(np.longdouble).nmant >= 63 else np.float64
"""Our own arithmetic: x86's 64-bit-mantissa extended floats where numpy has them, so that the
outward rounding below stays far under one unit even at 2^53 (float64 elsewhere)."""
OURS = float(2.0 ** -(np.finfo(WORK).nmant - 2))  # relative outward rounding per op (sums of a few terms)


@dataclass
class Form:
    """Per feature: center c (F,), generators g (F, S) over the first S symbols, radius r (F,)."""

    c: np.ndarray
    g: np.ndarray
    r: np.ndarray

    def width(self, s: int) -> np.ndarray:
        """The generators padded with zeros to s symbols."""
        return self.g if self.g.shape[1] == s else np.pad(self.g, ((0, 0), (0, s - self.g.shape[1])))

    @property
    def spread(self) -> np.ndarray:
        return np.abs(self.g).sum(axis=1) + self.r

    @property
    def lo(self) -> np.ndarray:
        return self.c - self.spread

    @property
    def hi(self) -> np.ndarray:
        return self.c + self.spread

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The range of each feature, rounded outward."""
        lo, hi = self.lo, self.hi
        return lo - _slack(np.abs(lo)), hi + _slack(np.abs(hi))


def _slack(*sizes: np.ndarray, terms: int = 2) -> np.ndarray:
    """Outward rounding for a float64 result built from values of these sizes."""
    return sum(sizes) * WORK(terms * OURS) + WORK(2.0**-1000)  # type: ignore[return-value]


def ranges(net: Network, lo: list[int], hi: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each op, the lowest and highest exact value of each feature over the box
    [lo_1, hi_1] × ... (one bound per input coordinate)."""
    return [f.bounds() for f in affine_forms(net, lo, hi)]


def affine_forms(net: Network, lo: list[int], hi: list[int]) -> list[Form]:
    """For each op, the affine form of its exact values over the box."""
    forms: list[Form] = []
    symbols = net.arity
    widest = max(op.size for op in net.ops)
    limit = max(net.arity, min(MAX_SYMBOLS, (1 << 24) // max(1, widest)))  # memory: features × symbols
    with np.errstate(all="ignore"):
        for op in net.ops:
            ins = [forms[a] for a in op.args]
            if op.op == "input":
                lo_a, hi_a = np.asarray(lo, dtype=WORK), np.asarray(hi, dtype=WORK)
                half = (hi_a - lo_a) / 2
                forms.append(Form((lo_a + hi_a) / 2, np.diag(half), _slack(np.abs(lo_a), np.abs(hi_a))))
            elif op.op == "linear":
                forms.append(_linear(op, ins[0], symbols))
            elif op.op == "relu":
                form, symbols = _relu(ins[0], symbols, limit)
                forms.append(form)
            elif op.op in ("add", "sub"):
                a, b = ins
                sign = 1.0 if op.op == "add" else -1.0
                c = a.c + sign * b.c
                forms.append(Form(c, a.width(symbols) + sign * b.width(symbols),
                                  a.r + b.r + _slack(np.abs(a.c), np.abs(b.c), a.spread, b.spread)))
            elif op.op in ("shift", "scale"):
                forms.append(_with_const(op, ins[0]))
            elif op.op == "gather":
                idx = np.asarray(op.index, dtype=np.int64).ravel()
                forms.append(Form(np.concatenate([f.c for f in ins])[idx],
                                  np.concatenate([f.width(symbols) for f in ins])[idx],
                                  np.concatenate([f.r for f in ins])[idx]))
            else:  # sigmoid: monotone; its range becomes an interval
                x = ins[0]
                s_lo, s_hi = 1 / (1 + np.exp(-x.lo)), 1 / (1 + np.exp(-x.hi))
                spread = (s_hi - s_lo) / 2 + 2.0**-40
                forms.append(Form((s_lo + s_hi) / 2, np.zeros((len(s_lo), 0), dtype=WORK), spread))
    return forms


def sum_bound(x: Form, w: np.ndarray, features: np.ndarray, bias: float) -> float:
    """The largest |Σ w_i·x_i + bias| over the box, for the input features `features` (a sum of
    some of a linear op's terms), with the dependence between them kept."""
    w = np.asarray(w, dtype=WORK)
    c = float(np.dot(w, x.c[features]) + WORK(bias))
    g = w @ x.width(x.g.shape[1])[features]
    spread = np.abs(g).sum() + np.abs(w) @ x.r[features]
    size = abs(c) + spread
    return float(size + _slack(WORK(size), terms=len(features) + 2))


def _linear(op: Op, x: Form, symbols: int) -> Form:
    w = np.asarray(op.weight, dtype=WORK)
    b = np.zeros(w.shape[0], dtype=WORK) if op.bias is None else np.asarray(op.bias, dtype=WORK)
    k = w.shape[1]
    c, g, r = x.c.reshape(-1, k), x.width(symbols).reshape(-1, k, symbols), x.r.reshape(-1, k)
    aw = np.abs(w)
    c2 = c @ w.T + b
    g2 = np.einsum("fks,ok->fos", g, w)
    size = np.abs(c) @ aw.T + np.abs(b) + np.einsum("fks,ok->fo", np.abs(g), aw)
    r2 = r @ aw.T + _slack(size, terms=k + 2)
    return Form(c2.reshape(-1), g2.reshape(-1, symbols), r2.reshape(-1))


def _relu(x: Form, symbols: int, limit: int) -> tuple[Form, int]:
    lo, hi = x.lo, x.hi
    on, off = lo >= 0, hi <= 0
    cross = ~on & ~off
    g = x.width(symbols).copy()
    c, r = x.c.copy(), x.r.copy()
    c[off], g[off], r[off] = 0.0, 0.0, 0.0
    if cross.any():
        lam = hi[cross] / (hi[cross] - lo[cross])
        lam = np.clip(lam, 0.0, 1.0)
        m = np.maximum((1 - lam) * hi[cross], -lam * lo[cross])
        m = m + _slack(np.abs(hi[cross]), np.abs(lo[cross]), terms=4)
        c[cross] = lam * c[cross] + m / 2
        g[cross] = lam[:, None] * g[cross]
        r[cross] = lam * r[cross] + _slack(np.abs(c[cross]), np.abs(g[cross]).sum(axis=1), terms=4)
        rows = np.flatnonzero(cross)
        if symbols + len(rows) <= limit:
            fresh = np.zeros((len(c), len(rows)), dtype=WORK)
            fresh[rows, np.arange(len(rows))] = m / 2
            g = np.concatenate([g, fresh], axis=1)
            symbols += len(rows)
        else:
            r[cross] += m / 2
    return Form(c, g, r), symbols


def _with_const(op: Op, x: Form) -> Form:
    k = np.broadcast_to(np.asarray(op.const, dtype=WORK), op.shape).ravel()
    if op.op == "shift":
        return Form(x.c + k, x.g, x.r + _slack(np.abs(x.c), np.abs(k)))
    if op.divide:
        k = 1 / k
    c = x.c * k
    return Form(c, x.g * k[:, None], x.r * np.abs(k) + _slack(np.abs(c), np.abs(x.g * k[:, None]).sum(axis=1)))
