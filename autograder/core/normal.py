"""The affine normal form of a network: scalar units in order, every value an exact affine
combination of the inputs and earlier units' outputs.

A captured `Network` is a list of array ops (linear layers, slicing, additions, ...).  For
exact analysis only two things matter: each activation unit's pre-activation, and the output,
each as an affine function of the inputs and of earlier units.  Writing every value that way
(exact rationals, zero coefficients dropped) makes terms that cancel disappear: in
`fold(x) + x - x` the raw input is not used by the output, so the line analysis can merge
inputs that reach the same state.  Units that nothing live reads are dropped, and a unit whose
pre-activation is a constant becomes that constant (ReLU only).  Neuron counts are not taken
from here: a dead unit is still evaluated by the network and still counts (docs/theory.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .network import Network, Op

Coef = dict[int, Fraction]  # source -> coefficient; sources 0..arity-1 are inputs, arity + j unit j


@dataclass
class Affine:
    """const + sum(coef[s] * source s)."""

    const: Fraction
    coef: Coef = field(default_factory=dict)

    def plus(self, other: Affine, sign: int = 1) -> Affine:
        coef = dict(self.coef)
        for s, c in other.coef.items():
            v = coef.get(s, Fraction(0)) + sign * c
            if v:
                coef[s] = v
            else:
                coef.pop(s, None)
        return Affine(self.const + sign * other.const, coef)

    def times(self, k: Fraction) -> Affine:
        if not k:
            return Affine(Fraction(0))
        return Affine(self.const * k, {s: c * k for s, c in self.coef.items()})

    def __repr__(self) -> str:
        terms = " ".join(f"{'+' if c > 0 else '-'} {abs(c)}*s{s}" for s, c in sorted(self.coef.items()))
        return f"Affine({self.const} {terms})"


@dataclass
class Unit:
    kind: str  # "relu" or "sigmoid"
    pre: Affine
    where: str = ""


@dataclass
class UnitNet:
    """Units in evaluation order and the output, over sources 0..arity-1 (inputs) and
    arity + j (unit j)."""

    arity: int
    units: list[Unit]
    output: Affine

    def last_use(self) -> dict[int, int]:
        """For each source, the index of the last unit that reads it (len(units): the output)."""
        last: dict[int, int] = {}
        for j, u in enumerate(self.units):
            for s in u.pre.coef:
                last[s] = j
        for s in self.output.coef:
            last[s] = len(self.units)
        return last

    def __repr__(self) -> str:
        return f"UnitNet(arity {self.arity}, {len(self.units)} live units)"


def _fractions(a: np.ndarray) -> list[Fraction]:
    return [Fraction(float(v)) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def _combine(terms: list[tuple[Fraction, Affine]], const: Fraction) -> Affine:
    """const + sum(k * f) over the terms, summed into one dict (no intermediate forms; a
    factor of 1 is not multiplied), zero coefficients dropped."""
    acc: Coef = {}
    for k, f in terms:
        const += f.const if k == 1 else k * f.const
        for s, c in f.coef.items():
            v = c if k == 1 else k * c
            old = acc.get(s)
            acc[s] = v if old is None else old + v
    return Affine(const, {s: c for s, c in acc.items() if c})


def _linear(op: Op, x: list[Affine]) -> list[Affine]:
    w = np.asarray(op.weight, dtype=np.float64)
    rows, cols = w.shape
    exact: dict[float, Fraction] = {}  # the same weight (1.0, -2.0, ...) converted once
    wf = [[(c, exact.setdefault(float(w[r, c]), Fraction(float(w[r, c])))) for c in range(cols) if w[r, c] != 0]
          for r in range(rows)]
    bias = _fractions(op.bias) if op.bias is not None else [Fraction(0)] * rows
    out = []
    for g in range(len(x) // cols):
        group = x[g * cols:(g + 1) * cols]
        for r in range(rows):
            out.append(_combine([(k, group[c]) for c, k in wf[r]], bias[r]))
    return out


def normal_form(net: Network, prune: bool = True) -> UnitNet:
    """The network as exact affine forms over inputs and units, dead units removed (unless
    `prune` is False: the forward-pass sweep wants the breakpoints of every unit)."""
    units: list[Unit] = []
    vals: list[list[Affine]] = []
    for op in net.ops:
        ins = [vals[a] for a in op.args]
        if op.op == "input":
            v = [Affine(Fraction(0), {i: Fraction(1)}) for i in range(net.arity)]
        elif op.op == "linear":
            v = _linear(op, ins[0])
        elif op.op in ("relu", "sigmoid"):
            v = []
            for f in ins[0]:
                if not f.coef and op.op == "relu":
                    v.append(Affine(max(f.const, Fraction(0))))
                else:
                    units.append(Unit(op.op, f, op.where))
                    v.append(Affine(Fraction(0), {net.arity + len(units) - 1: Fraction(1)}))
        elif op.op in ("add", "sub"):
            sign = 1 if op.op == "add" else -1
            v = [a.plus(b, sign) for a, b in zip(ins[0], ins[1])]
        elif op.op in ("shift", "scale"):
            c = _fractions(np.broadcast_to(op.const, op.shape))  # type: ignore[arg-type]
            if op.op == "shift":
                v = [f.plus(Affine(k)) for f, k in zip(ins[0], c)]
            else:
                v = [f.times(1 / k if op.divide else k) for f, k in zip(ins[0], c)]
        elif op.op == "gather":
            flat = [f for a in ins for f in a]
            v = [flat[i] for i in np.asarray(op.index).reshape(-1).tolist()]
        else:
            raise ValueError(f"unknown op {op.op}")
        vals.append(v)
    whole = UnitNet(net.arity, units, vals[-1][0])
    return _prune(whole) if prune else whole


def pruned(un: UnitNet) -> UnitNet:
    """The normal form without the units nothing live reads (what `normal_form` returns)."""
    return _prune(un)


def _prune(un: UnitNet) -> UnitNet:
    """Drop units that neither the output nor a kept unit reads; renumber the rest."""
    a = un.arity
    needed = {s for s in un.output.coef if s >= a}
    for j in range(len(un.units) - 1, -1, -1):
        if a + j in needed:
            needed.update(s for s in un.units[j].pre.coef if s >= a)
    keep = [j for j in range(len(un.units)) if a + j in needed]
    new = {a + j: a + k for k, j in enumerate(keep)}

    def re(f: Affine) -> Affine:
        return Affine(f.const, {(new[s] if s >= a else s): c for s, c in f.coef.items()})

    return UnitNet(a, [Unit(un.units[j].kind, re(un.units[j].pre), un.units[j].where) for j in keep],
                   re(un.output))


def _substitute(f: Affine, subst: dict[int, Affine], renumber: dict[int, int]) -> Affine:
    """f with the settled sources written out and the others renumbered."""
    kept = Affine(Fraction(0), {renumber.get(s, s): c for s, c in f.coef.items() if s not in subst})
    return _combine([(Fraction(1), kept)] + [(c, subst[s]) for s, c in f.coef.items() if s in subst], f.const)


def settle(un: UnitNet, lo: int, hi: int) -> UnitNet:
    """The one-input network on the integers lo..hi only: a unit whose pre-activation reads
    just the input (once earlier settled units are written out) and keeps one sign on the
    whole range is affine there — itself when >= 0, zero when <= 0 — so it is no unit at all.
    (`fold(x) + ReLU(-x - 1)` on x >= 0 is the fold.)"""
    if un.arity != 1:
        return un
    subst: dict[int, Affine] = {}
    renumber: dict[int, int] = {}
    kept: list[Unit] = []
    for j, u in enumerate(un.units):
        pre = _substitute(u.pre, subst, renumber)
        src = 1 + j
        if u.kind == "relu" and set(pre.coef) <= {0}:
            c = pre.coef.get(0, Fraction(0))
            ends = (pre.const + c * lo, pre.const + c * hi)
            if min(ends) >= 0:
                subst[src] = pre
                continue
            if max(ends) <= 0:
                subst[src] = Affine(Fraction(0))
                continue
        renumber[src] = 1 + len(kept)
        kept.append(Unit(u.kind, pre, u.where))
    return _prune(UnitNet(1, kept, _substitute(un.output, subst, renumber)))
