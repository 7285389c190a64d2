"""Exact verification of a one-input network on huge integer ranges (docs/theory.md §5).

An *atom* is a run of integers t in [lo, hi] on which every live value of the network is
affine in t (state = P + t·Q, exact rationals) and the target label is (mu + eps·t) mod 2:
a constant label when eps = 0, parity when eps = 1.  Each ReLU splits an atom only where a
pre-activation changes sign.  After each op, atoms are put in a canonical form (direction of
Q, base point on their line) and atoms that reach the same states are merged: later ops see
only the state, so one copy suffices.  That is what makes folding networks cheap to verify
on [0, 2^64): the atoms stay few however large the range.

Two inputs with different labels that reach the same state are a counterexample.  When the
number of atoms exceeds a cap the verification fails closed with `LineCapExceeded`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import floor
from typing import Iterator

import numpy as np

from .description import Network, Op

MAX_ATOMS = 20_000
Vec = tuple[Fraction, ...]


class LineCapExceeded(Exception):
    """The network does not merge: too many distinct affine pieces to verify exactly."""


@dataclass
class Atom:
    lo: int
    hi: int
    state: dict[int, tuple[list[Fraction], list[Fraction]]]
    mu: int
    eps: int
    origin: list[tuple[int, int, int, int]] = field(default_factory=list)  # (lo, hi, a, b): x = a + b·t

    def label(self, t: int) -> int:
        return (self.mu + self.eps * t) % 2

    def input_at(self, t: int) -> int | None:
        for lo, hi, a, b in self.origin:
            if lo <= t <= hi:
                return a + b * t
        return None


@dataclass
class LineFailure:
    """A counterexample found by the line analysis (input may be unknown after merging)."""

    input: int | None
    expected: int
    got: Fraction | None
    reason: str


def _exact_weights(op: Op) -> tuple[list[list[Fraction]], list[Fraction]]:
    rows = op.weight.shape[0]  # type: ignore[union-attr]
    wf = [[Fraction(float(v)) for v in row] for row in op.weight]  # type: ignore[union-attr]
    bias = [Fraction(float(v)) for v in op.bias] if op.bias is not None else [Fraction(0)] * rows
    return wf, bias


def _affine_op(op: Op, ins: list[tuple[list[Fraction], list[Fraction]]],
               weights: tuple[list[list[Fraction]], list[Fraction]] | None) -> tuple[list[Fraction], list[Fraction]]:
    if op.op == "linear":
        (p, q), w = ins[0], op.weight  # type: ignore[misc]
        rows, cols = w.shape  # type: ignore[union-attr]
        wf, bias = weights  # type: ignore[misc]
        lead = len(p) // cols
        P, Q = [], []
        for g in range(lead):
            pv, qv = p[g * cols:(g + 1) * cols], q[g * cols:(g + 1) * cols]
            for r in range(rows):
                P.append(sum((wf[r][c] * pv[c] for c in range(cols) if wf[r][c]), bias[r]))
                Q.append(sum((wf[r][c] * qv[c] for c in range(cols) if wf[r][c]), Fraction(0)))
        return P, Q
    if op.op in ("add", "sub"):
        (pa, qa), (pb, qb) = ins
        s = 1 if op.op == "add" else -1
        return [a + s * b for a, b in zip(pa, pb)], [a + s * b for a, b in zip(qa, qb)]
    if op.op in ("shift", "scale"):
        p, q = ins[0]
        c = [Fraction(float(v)) for v in np.broadcast_to(op.const, op.shape).reshape(-1)]  # type: ignore[arg-type]
        if op.op == "shift":
            return [a + b for a, b in zip(p, c)], list(q)
        if op.divide:
            return [a / b for a, b in zip(p, c)], [a / b for a, b in zip(q, c)]
        return [a * b for a, b in zip(p, c)], [a * b for a, b in zip(q, c)]
    if op.op == "gather":
        P = [v for a in ins for v in a[0]]
        Q = [v for a in ins for v in a[1]]
        idx = op.index.reshape(-1).tolist()  # type: ignore[union-attr]
        return [P[i] for i in idx], [Q[i] for i in idx]
    raise ValueError(f"line analysis cannot handle op {op.op}")


def _split_relu(atom: Atom, p: list[Fraction], q: list[Fraction]) -> Iterator[tuple[int, int]]:
    cuts = set()
    for a, b in zip(p, q):
        if b != 0:
            s = floor(-a / b) + 1
            if atom.lo < s <= atom.hi:
                cuts.add(s)
    start = atom.lo
    for s in sorted(cuts):
        yield start, s - 1
        start = s
    yield start, atom.hi


def _canonical(atom: Atom, live: list[int]) -> tuple[object, Atom]:
    P = [v for k in live for v in atom.state[k][0]]
    Q = [v for k in live for v in atom.state[k][1]]
    j = next((i for i, v in enumerate(Q) if v != 0), None)
    if j is None:
        return ("const", tuple(P)), atom
    if Q[j] < 0:  # t -> -t
        atom.state = {k: (pp, [-v for v in qq]) for k, (pp, qq) in atom.state.items()}
        atom.lo, atom.hi = -atom.hi, -atom.lo
        atom.origin = [(-hi, -lo, a, -b) for lo, hi, a, b in atom.origin]
        Q = [-v for v in Q]
    c = floor(P[j] / Q[j])  # t -> t + c, so that the base point has 0 <= P_j < Q_j
    if c:
        atom.state = {k: ([a - c * b for a, b in zip(pp, qq)], qq) for k, (pp, qq) in atom.state.items()}
        atom.lo, atom.hi = atom.lo + c, atom.hi + c
        atom.mu = (atom.mu - atom.eps * c) % 2
        atom.origin = [(lo + c, hi + c, a - b * c, b) for lo, hi, a, b in atom.origin]
    P = [v for k in live for v in atom.state[k][0]]
    return (tuple(P), tuple(Q)), atom


def _conflict(a: Atom, b: Atom) -> LineFailure | None:
    """Two atoms that share states: a failure if some shared state has two labels."""
    lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
    for t in range(lo, min(hi, lo + 1) + 1):
        if a.label(t) != b.label(t):
            x1, x2 = a.input_at(t), b.input_at(t)
            known = [x for x in (x1, x2) if x is not None]
            return LineFailure(known[0] if known else None, a.label(t) if x1 is not None else b.label(t), None,
                               f"inputs {x1 if x1 is not None else '?'} and {x2 if x2 is not None else '?'} "
                               "reach the same hidden state but need different outputs")
    return None


def _merge(atoms: list[Atom], live: list[int]) -> list[Atom] | LineFailure:
    groups: dict[object, list[Atom]] = {}
    for atom in atoms:
        key, atom = _canonical(atom, live)
        if key[0] == "const":
            if atom.eps and atom.hi > atom.lo:
                x1, x2 = atom.input_at(atom.lo), atom.input_at(atom.lo + 1)
                return LineFailure(x1, atom.label(atom.lo), None,
                                   f"inputs {x1} and {x2} reach the same hidden state but need different outputs")
            x0 = atom.input_at(atom.lo)
            atom.mu, atom.eps = atom.label(atom.lo), 0
            atom.origin = [(0, 0, x0, 0)] if x0 is not None else []
            atom.lo = atom.hi = 0
        groups.setdefault(key, []).append(atom)
    merged: list[Atom] = []
    for group in groups.values():
        group.sort(key=lambda a: (a.lo, a.hi))
        current = group[0]
        for nxt in group[1:]:
            if nxt.lo <= current.hi:
                bad = _conflict(current, nxt)
                if bad:
                    return bad
            same_rule = (nxt.mu, nxt.eps) == (current.mu, current.eps)
            if same_rule and nxt.lo <= current.hi + 1:
                current.hi = max(current.hi, nxt.hi)
                current.origin = (current.origin + nxt.origin)[:8]
            else:
                merged.append(current)
                current = nxt
        merged.append(current)
    return merged


def verify_line(net: Network, segments: list[tuple[int, int, int, int]],
                max_atoms: int = MAX_ATOMS) -> tuple[list[LineFailure], int]:
    """Check every integer of the given segments: (lo, hi, mu, eps) with target
    (mu + eps·x) mod 2.  Returns up to a few failures (empty: exact) and the peak atom count."""
    users = net.consumers()
    last_use = {k: max(u) if u else (k if k == net.output else -1) for k, u in enumerate(users)}
    atoms = [Atom(lo, hi, {0: ([Fraction(0)], [Fraction(1)])}, mu, eps, [(lo, hi, 0, 1)])
             for lo, hi, mu, eps in segments]
    peak = len(atoms)
    for k, op in enumerate(net.ops[1:], start=1):
        nxt: list[Atom] = []
        weights = _exact_weights(op) if op.op == "linear" else None
        for atom in atoms:
            ins = [atom.state[a] for a in op.args]
            if op.op == "relu":
                p, q = ins[0]
                for lo, hi in _split_relu(atom, p, q):
                    on = [a + b * lo >= 0 and a + b * hi >= 0 for a, b in zip(p, q)]
                    state = dict(atom.state)
                    state[k] = ([a if o else Fraction(0) for a, o in zip(p, on)],
                                [b if o else Fraction(0) for b, o in zip(q, on)])
                    nxt.append(Atom(lo, hi, state, atom.mu, atom.eps, atom.origin))
            elif op.op == "sigmoid":
                raise ValueError("line analysis does not handle sigmoid units")
            else:
                atom.state[k] = _affine_op(op, ins, weights)
                nxt.append(atom)
        live = [j for j in range(k + 1) if last_use.get(j, -1) > k or j == net.output and k == net.output]
        for atom in nxt:
            atom.state = {j: atom.state[j] for j in live}
        peak = max(peak, len(nxt))
        if len(nxt) > max_atoms:
            raise LineCapExceeded(f"more than {max_atoms:,} distinct affine pieces after op {k} ({op.op})")
        result = _merge(nxt, live)
        if isinstance(result, LineFailure):
            return [result], peak
        atoms = result
    failures: list[LineFailure] = []
    for atom in atoms:
        p, q = atom.state[net.output][0][0], atom.state[net.output][1][0]
        ts = [atom.lo, atom.hi] if atom.eps == 0 else list(range(atom.lo, min(atom.hi, atom.lo + 2) + 1))
        for t in ts:
            got = p + q * t
            if got != atom.label(t):
                failures.append(LineFailure(atom.input_at(t), atom.label(t), got, "wrong output"))
                break
        if len(failures) >= 5:
            break
    return failures, peak
