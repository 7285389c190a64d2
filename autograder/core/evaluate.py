"""Evaluate a `Network` description exactly on integer points, and in floating point.

Exact evaluation uses scaled integers: each op's values are integer numerators over one
common positive denominator.  Weights are binary floating-point numbers, hence rationals,
so no rounding ever happens.  numpy int64 is used while a proven bound on the numerators
stays below 2^62; past that the same code runs on Python integers.

The floating-point evaluation mirrors the candidate's own forward pass in its dtype; it is
used only to check that a description reproduces the candidate's outputs, with a tolerance
taken from a standard rounding-error bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from .network import Network, Op

SAFE = 2**62


@dataclass
class Scaled:
    """Exact values N / D: integer numerators (P, *shape) over one denominator D > 0."""

    num: np.ndarray
    den: int
    bound: int  # proven bound on |num|

    def rescaled(self, den: int) -> np.ndarray:
        """Numerators over the multiple `den` of this denominator."""
        k = den // self.den
        return _mul(self.num, k, self.bound * k)

    def fractions(self) -> list[Fraction]:
        return [Fraction(int(v), self.den) for v in self.num.reshape(-1)]


def _obj(a: np.ndarray) -> np.ndarray:
    return a if a.dtype == object else a.astype(object)


def _mul(num: np.ndarray, k: int | np.ndarray, bound: int) -> np.ndarray:
    if bound < SAFE and num.dtype != object and np.all(np.abs(np.asarray(k, dtype=object)) < SAFE):
        return num * np.asarray(k, dtype=np.int64)
    return _obj(num) * np.asarray(k, dtype=object)


def _ratios(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact numerators and denominators of float64 values (object arrays of ints).  A scalar
    comes back as shape (1,): arithmetic on 0-d object arrays gives Python ints, not arrays."""
    a = np.atleast_1d(a)
    flat = [Fraction(float(v)) for v in a.reshape(-1)]
    p = np.array([f.numerator for f in flat] or [0], dtype=object)[: len(flat)].reshape(a.shape)
    q = np.array([f.denominator for f in flat] or [1], dtype=object)[: len(flat)].reshape(a.shape)
    return p, q


def _lcm_all(q: np.ndarray, start: int = 1) -> int:
    out = start
    for v in set(q.reshape(-1).tolist()):
        out = lcm(out, int(v))
    return out


def _maxabs(a: np.ndarray) -> int:
    return int(max((abs(int(v)) for v in a.reshape(-1)), default=0))


def _apply(op: Op, ins: list[Scaled], sigmoid: Fraction | None) -> Scaled:
    if op.op == "relu":
        x = ins[0]
        return Scaled(np.maximum(x.num, 0), x.den, x.bound)
    if op.op == "sigmoid":
        if sigmoid is None:
            raise ValueError("a sigmoid has no exact rational value")
        size = (ins[0].num.shape[0],) + op.shape
        return Scaled(np.full(size, sigmoid.numerator, dtype=object), sigmoid.denominator,
                      abs(sigmoid.numerator))
    if op.op in ("add", "sub"):
        a, b = ins
        den = lcm(a.den, b.den)
        na, nb = a.rescaled(den), b.rescaled(den)
        bound = a.bound * (den // a.den) + b.bound * (den // b.den)
        if bound >= SAFE:
            na, nb = _obj(na), _obj(nb)
        return Scaled(na + nb if op.op == "add" else na - nb, den, bound)
    if op.op == "shift":
        x = ins[0]
        p, q = _ratios(np.broadcast_to(op.const, op.shape))
        den = _lcm_all(q, x.den)
        c = p * (den // q)
        bound = x.bound * (den // x.den) + _maxabs(c)
        num = x.rescaled(den)
        cn = c.astype(np.int64) if bound < SAFE and num.dtype != object else c
        return Scaled((num if cn.dtype != object else _obj(num)) + cn, den, bound)
    if op.op == "scale":
        x = ins[0]
        p, q = _ratios(np.broadcast_to(op.const, op.shape))
        if op.divide:  # value / (p/q) = value * q / p
            p, q = q * np.sign(p), np.abs(p)
        m = _lcm_all(q)
        k = p * (m // q)
        bound = x.bound * _maxabs(k)
        return Scaled(_mul(x.num, k, bound), x.den * m, bound)
    if op.op == "linear":
        x = ins[0]
        p, q = _ratios(op.weight)  # type: ignore[arg-type]
        den = _lcm_all(q * x.den)
        if op.bias is not None:
            pb, qb = _ratios(op.bias)
            den = _lcm_all(qb, den)
            c0 = pb * (den // qb)
        else:
            c0 = np.zeros(op.weight.shape[0], dtype=object)  # type: ignore[union-attr]
        coef = p * (den // (q * x.den))
        row = [sum(abs(int(v)) for v in r) for r in coef]
        bound = max((r * x.bound + abs(int(c)) for r, c in zip(row, c0)), default=0)
        if bound < SAFE and x.num.dtype != object and _maxabs(coef) < SAFE:
            num = x.num @ coef.astype(np.int64).T + c0.astype(np.int64)
        else:
            num = np.dot(_obj(x.num), coef.T) + c0
        return Scaled(num, den, max(bound, 1))
    if op.op == "gather":
        den = 1
        for s in ins:
            den = lcm(den, s.den)
        parts = [s.rescaled(den).reshape(s.num.shape[0], -1) for s in ins]
        if any(p.dtype == object for p in parts):
            parts = [_obj(p) for p in parts]
        flat = np.concatenate(parts, axis=1)
        out = flat[:, op.index.reshape(-1)].reshape((flat.shape[0],) + op.shape)  # type: ignore[union-attr]
        return Scaled(out, den, max(s.bound * (den // s.den) for s in ins))
    raise ValueError(f"cannot evaluate op {op.op}")


def exact_values(net: Network, points: np.ndarray, keep: tuple[int, ...] = (),
                 sigmoid: Fraction | None = None) -> dict[int, Scaled]:
    """Exact values of the output (and of the ops in `keep`) at integer `points` (P, arity).

    `sigmoid` substitutes a rational value for every sigmoid unit (used to read off the
    affine dependence of the output on a final sigmoid)."""
    pts = np.asarray(points)
    bound = _maxabs(pts) if pts.dtype == object else int(np.abs(pts).max(initial=0))
    num = pts.astype(np.int64) if bound < SAFE and pts.dtype != object else _obj(pts)
    last_use = {a: k for k, op in enumerate(net.ops) for a in op.args}
    wanted = set(keep) | {net.output}
    vals: dict[int, Scaled] = {0: Scaled(num, 1, max(bound, 1))}
    out: dict[int, Scaled] = {0: vals[0]} if 0 in wanted else {}
    for k, op in enumerate(net.ops[1:], start=1):
        vals[k] = _apply(op, [vals[a] for a in op.args], sigmoid)
        if k in wanted:
            out[k] = vals[k]
        for a in set(op.args):
            if last_use.get(a) == k and a not in wanted:
                del vals[a]
    return out


def exact_output(net: Network, points: np.ndarray) -> Scaled:
    """The exact output at each point, shape (P,)."""
    s = exact_values(net, points)[net.output]
    return Scaled(s.num.reshape(-1), s.den, s.bound)


# ---- floating point ------------------------------------------------------------------------
NP_DTYPES = {"float16": np.float16, "float32": np.float32, "bfloat16": np.float32, "float64": np.float64}


def float_forward(net: Network, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs in the network's dtype, and a bound on how far two faithful float
    evaluations (say ours and torch's, which may sum in another order) can differ."""
    dt = NP_DTYPES[net.dtype]
    eps = float(np.finfo(dt).eps) * (2**8 if net.dtype == "bfloat16" else 1)
    vals: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    x = np.asarray(points, dtype=np.float64).astype(dt)
    vals[0] = (x, np.abs(x).astype(np.float64))
    with np.errstate(all="ignore"):
        for k, op in enumerate(net.ops[1:], start=1):
            ins = [vals[a] for a in op.args]
            if op.op == "linear":
                w = op.weight.astype(dt)  # type: ignore[union-attr]
                v = ins[0][0] @ w.T
                m = ins[0][1] @ np.abs(op.weight).T  # type: ignore[union-attr]
                if op.bias is not None:
                    v = v + op.bias.astype(dt)
                    m = m + np.abs(op.bias)
                vals[k] = (v.astype(dt), m)
            elif op.op == "relu":
                vals[k] = (np.maximum(ins[0][0], dt(0)), ins[0][1])
            elif op.op == "sigmoid":
                z = ins[0][0].astype(np.float64)
                vals[k] = ((1 / (1 + np.exp(-z))).astype(dt), np.ones_like(z) + ins[0][1] / 4)
            elif op.op in ("add", "sub"):
                v = ins[0][0] + ins[1][0] if op.op == "add" else ins[0][0] - ins[1][0]
                vals[k] = (v, ins[0][1] + ins[1][1] + np.abs(v))
            elif op.op == "shift":
                v = ins[0][0] + op.const.astype(dt)  # type: ignore[union-attr]
                vals[k] = (v, ins[0][1] + np.abs(op.const) + np.abs(v))  # type: ignore[arg-type]
            elif op.op == "scale":
                c = op.const.astype(dt)  # type: ignore[union-attr]
                v = ins[0][0] / c if op.divide else ins[0][0] * c
                factor = 1 / np.abs(op.const) if op.divide else np.abs(op.const)  # type: ignore[arg-type]
                vals[k] = (v, ins[0][1] * factor + np.abs(v))
            elif op.op == "gather":
                n = x.shape[0]
                flat_v = np.concatenate([a[0].reshape(n, -1) for a in ins], axis=1)
                flat_m = np.concatenate([a[1].reshape(n, -1) for a in ins], axis=1)
                idx = op.index.reshape(-1)  # type: ignore[union-attr]
                vals[k] = (flat_v[:, idx].reshape((n,) + op.shape), flat_m[:, idx].reshape((n,) + op.shape))
    y, m = vals[net.output]
    width = max([op.weight.shape[1] for op in net.ops if op.weight is not None] + [1])
    return y.reshape(-1).astype(np.float64), 4 * (len(net.ops) + width) * eps * m.reshape(-1) + 1e-300
