"""Which inputs the forward-pass sweep runs (and the rounding check bounds): every input of an
enumerable domain, in batches; chosen inputs of a huge one.  Pure functions of the domain and
the description, shared by the student's process (fidelity.py) and the grader (verify.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from math import floor

import numpy as np

from .line import LineCapExceeded, verify_line
from .network import Network
from .normal import UnitNet, normal_form, pruned
from .riddles import Domain, Riddle


def enumerated(d: Domain, rows: int) -> Iterator[list[np.ndarray]]:
    """Every point of an enumerable domain, in batches of about `rows` points: per batch one
    int64 array per coordinate (the first coordinate is split across batches; the others run
    over their whole range in each batch)."""
    if d.arity == 1:
        for start in range(d.lo, d.hi + 1, rows):
            yield [np.arange(start, min(start + rows, d.hi + 1), dtype=np.int64)]
        return
    g = np.arange(d.lo, d.hi + 1, dtype=np.int64)
    step = max(1, rows // len(g) ** (d.arity - 1))
    for a0 in range(d.lo, d.hi + 1, step):
        a = np.arange(a0, min(a0 + step, d.hi + 1), dtype=np.int64)
        yield [c.ravel() for c in np.meshgrid(a, *[g] * (d.arity - 1), indexing="ij")]


def representable(x: int, bits: int) -> bool:
    """Is the integer x exactly a value of a float type with a `bits`-bit mantissa?"""
    m = bits
    if abs(x) <= 2**m:
        return True
    lowest = (abs(x) & -abs(x)).bit_length() - 1  # trailing zero bits
    return abs(x).bit_length() - lowest <= m and abs(x).bit_length() <= 1000


def sampled_points(d: Domain, bits: int, extra: list[int], seed: int = 0) -> list[int]:
    """Points of a huge one-input domain where the forward pass can run: both ends, the
    neighbours of every power of two, `extra` points (neighbours of breakpoints), seeded
    random integers below 2^mantissa, and seeded random representable larger integers."""
    rng = random.Random(seed)
    m = bits
    pts = {d.lo, d.lo + 1, d.hi - 1, d.hi}
    for k in range(d.hi.bit_length() + 1):
        pts.update((2**k - 1, 2**k, 2**k + 1))
    pts.update(extra)
    small_hi = min(d.hi, 2**m)
    if small_hi >= d.lo:
        pts.update(rng.randint(d.lo, small_hi) for _ in range(2048))
    top = d.hi.bit_length()
    for _ in range(1024 if top > m else 0):
        e = rng.randrange(m, top)  # bits above the mantissa
        pts.add(rng.randrange(2 ** (m - 1), 2**m) << (e - m + 1))
    return sorted(x for x in pts if d.lo <= x <= d.hi and representable(x, bits))


def breakpoints(net: Network, riddle: Riddle, d: Domain, whole: UnitNet | None = None) -> list[int]:
    """Inputs next to which a unit of the network changes sign, as the line analysis finds
    them (a few thousand at most; none when the analysis gives up early).  `whole` is the
    network's unpruned normal form, when the caller has it already."""
    cuts: list[int] = []
    if riddle.runs is None or net.arity != 1 or riddle.activation != "relu":
        return cuts
    whole = whole if whole is not None else normal_form(net, prune=False)
    # The kinks of the pruned network, then of every unit, cancelled ones included: a unit that
    # cancels exactly in the real function may still round when run.
    kept = pruned(whole)
    for form in ((kept, whole) if len(kept.units) != len(whole.units) else (whole,)):  # nothing pruned: one pass
        try:
            verify_line(form, riddle.runs(d.lo, d.hi), max_atoms=2_000, cuts=cuts)
        except (LineCapExceeded, ValueError):
            pass
    # Every unit that reads only the input, dead or not (a unit that cancels exactly in the
    # real function may still round when run): its kink is where its pre-activation is 0.
    for unit in whole.units:
        c = unit.pre.coef.get(0)
        if c and len(unit.pre.coef) == 1:
            root = -unit.pre.const / c
            cuts.extend((floor(root), floor(root) + 1))
    return [c + k for c in cuts[:8192] for k in (-1, 0, 1)]
