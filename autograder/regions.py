"""Exact verification of a two-input ReLU network on an integer grid, region by region
(docs/theory.md §5).

A ReLU network is affine on each region where every unit keeps one state (on or off).  Start
from the grid's box and, unit by unit in evaluation order, cut each convex polygon along the
unit's zero line.  Every polygon carries the exact affine values c0 + ca·a + cb·b of the
sources that later units or the output still read, so a unit's pre-activation is affine on
the polygon and its sign at the vertices says whether a cut is needed.  After the last unit
the output is affine on each polygon; intersecting with the target's pieces (convex sets on
which the target is affine, e.g. a <= b and a >= b + 1 for min) gives cells on which the
difference d = output - target is affine.  d == 0 identically: every point of the cell is
right.  Otherwise the wrong points are the cell's lattice points off the line d = 0, counted
exactly in time that grows with the number of edges, not with the area or the width.

Only lattice points matter, which keeps the cuts simple: on the integers, pre < 0 means
D·pre <= -1 where D clears pre's denominators, so the "off" side is the closed polygon
{D·pre <= -1}.  The two sides of a cut then share no lattice point and every point is
counted once, with nothing lost.  Polygons without a lattice point are dropped.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor, lcm
from typing import Iterator, NamedTuple, Sequence

from .normal import Affine, UnitNet

MAX_REGIONS = 20_000
Lin = tuple[Fraction, Fraction, Fraction]  # c0 + ca·a + cb·b
Point = tuple[Fraction, Fraction]
Polygon = list[Point]  # convex, vertices in cyclic order; may be a segment or a single point


class RegionCapExceeded(Exception):
    """The network cuts the grid into more linear regions than the analysis will follow;
    the caller decides the grid another way (enumeration) or fails closed."""


@dataclass(frozen=True)
class TargetPiece:
    """Part of a target's definition: on the lattice points (a, b) with h(a, b) >= 0 for every
    h in `where`, the target equals `value`(a, b).  Each of `where` and `value` is an affine
    form (c0, ca, cb) meaning c0 + ca·a + cb·b.  The pieces given for a target must split the
    integer points of the grid exactly (each point in exactly one piece); strict inequalities
    are written for integers, e.g. a > b as a - b - 1 >= 0.  An empty `where` is the plane."""

    where: tuple[Lin, ...]
    value: Lin

    @staticmethod
    def of(where: Sequence[tuple[int | Fraction, int | Fraction, int | Fraction]],
           value: tuple[int | Fraction, int | Fraction, int | Fraction]) -> TargetPiece:
        """Build a piece from ints or Fractions."""
        return TargetPiece(tuple(_lin(h) for h in where), _lin(value))


def _lin(t: tuple[int | Fraction, int | Fraction, int | Fraction]) -> Lin:
    return (Fraction(t[0]), Fraction(t[1]), Fraction(t[2]))


# min(a, b): a where a <= b, b where a >= b + 1.  max(a, b) is the mirror.
MIN_PIECES = (TargetPiece.of([(0, -1, 1)], (0, 1, 0)), TargetPiece.of([(-1, 1, -1)], (0, 0, 1)))
MAX_PIECES = (TargetPiece.of([(0, -1, 1)], (0, 0, 1)), TargetPiece.of([(-1, 1, -1)], (0, 1, 0)))


class RegionCounterexample(NamedTuple):
    a: int
    b: int
    got: Fraction  # the network's exact output
    expected: Fraction  # the target's value (an integer for integer targets)


@dataclass
class RegionVerdict:
    """`wrong` is the exact number of wrong grid points; `counterexamples` are the first few in
    (a, b) order, the order in which enumeration finds them.  `regions` counts the network's
    linear regions holding a grid point, `cells` their nonempty intersections with the
    target's pieces."""

    exact: bool
    wrong: int
    counterexamples: list[RegionCounterexample]
    regions: int
    cells: int


# ---- exact geometry ------------------------------------------------------------------------
def _at(f: Lin, p: Point) -> Fraction:
    return f[0] + f[1] * p[0] + f[2] * p[1]


def clip(poly: Polygon, h: Lin) -> Polygon:
    """The part of a convex polygon where h >= 0 (Sutherland–Hodgman for one closed
    half-plane, exact), repeated vertices removed."""
    out: Polygon = []
    n = len(poly)
    vals = [_at(h, p) for p in poly]
    for i in range(n):
        p, q, fp, fq = poly[i], poly[(i + 1) % n], vals[i], vals[(i + 1) % n]
        if fp >= 0:
            out.append(p)
        if (fp > 0 > fq) or (fp < 0 < fq):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    dedup = [p for i, p in enumerate(out) if p != out[i - 1]] if len(out) > 1 else out
    return dedup or out[:1]


def _hull_chains(poly: Polygon) -> tuple[list[Point], list[Point]]:
    """Lower and upper chains of the polygon, both from left to right (monotone chain), so
    that degenerate polygons (segments, repeated vertices) need no special order."""
    pts = sorted(set(poly))

    def chain(points: list[Point]) -> list[Point]:
        c: list[Point] = []
        for p in points:
            while len(c) >= 2 and ((c[-1][0] - c[-2][0]) * (p[1] - c[-2][1])
                                   - (c[-1][1] - c[-2][1]) * (p[0] - c[-2][0])) <= 0:
                c.pop()
            c.append(p)
        return c

    lower = chain(pts)
    upper = chain(pts[::-1])[::-1]
    return lower, upper


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """sum(floor((a·i + b) / m) for i in range(n)), m > 0, in O(log) steps (the usual
    Euclid-like reduction: peel off whole multiples, then swap the roles of a and m)."""
    total = 0
    while n > 0:
        qa, a = divmod(a, m)
        qb, b = divmod(b, m)
        total += qa * n * (n - 1) // 2 + qb * n
        top = a * n + b
        if top < m:
            break
        n, b = divmod(top, m)
        m, a = a, m
    return total


def _sum_floor_on_chain(chain: list[Point], x0: int, x1: int, sign: int) -> int:
    """sum(floor(sign·y(x))) over integers x in [x0, x1], y the piecewise-linear chain
    (left to right, covering [x0, x1]).  Each integer belongs to exactly one edge."""
    total = 0
    edges = [(p, q) for p, q in zip(chain, chain[1:]) if p[0] != q[0]]
    for k, (p, q) in enumerate(edges):
        lo = max(x0, ceil(p[0]))
        hi = min(x1, floor(q[0]) if k == len(edges) - 1 else ceil(q[0]) - 1)
        if lo > hi:
            continue
        slope = (q[1] - p[1]) / (q[0] - p[0]) * sign
        base = p[1] * sign - slope * p[0]  # sign·y(x) = slope·x + base
        r = lcm(slope.denominator, base.denominator)
        sn, bn = slope.numerator * (r // slope.denominator), base.numerator * (r // base.denominator)
        total += floor_sum(hi - lo + 1, r, sn, sn * lo + bn)
    return total


def lattice_points(poly: Polygon) -> int:
    """The number of integer points in a convex polygon with rational vertices, exactly:
    per column floor(top) - ceil(bottom) + 1, summed edge by edge in closed form."""
    if not poly:
        return 0
    xs = [p[0] for p in poly]
    x0, x1 = ceil(min(xs)), floor(max(xs))
    if x0 > x1:
        return 0
    if min(xs) == max(xs):  # a vertical segment or a point
        ys = [p[1] for p in poly]
        return max(0, floor(max(ys)) - ceil(min(ys)) + 1)
    lower, upper = _hull_chains(poly)
    return (_sum_floor_on_chain(upper, x0, x1, 1) + _sum_floor_on_chain(lower, x0, x1, -1)
            + (x1 - x0 + 1))


def _wrong_count(cell: Polygon, d: Lin) -> int:
    """Lattice points of the cell where the affine d is not zero."""
    if not any(d):
        return 0
    on_line = clip(clip(cell, d), (-d[0], -d[1], -d[2]))
    return lattice_points(cell) - lattice_points(on_line)


def _column_range(cell: Polygon, a: int) -> tuple[int, int]:
    seg = clip(clip(cell, (Fraction(-a), Fraction(1), Fraction(0))), (Fraction(a), Fraction(-1), Fraction(0)))
    if not seg:
        return 0, -1
    ys = [p[1] for p in seg]
    return ceil(min(ys)), floor(max(ys))


def _wrong_points(cell: Polygon, d: Lin) -> Iterator[tuple[int, int]]:
    """The cell's wrong lattice points in (a, b) order.  The next column holding one is
    found by bisection on wrong counts, so a long thin cell costs O(log width) per column."""
    xs = [p[0] for p in cell]
    a, last = ceil(min(xs)), floor(max(xs))
    while a <= last:
        right = clip(cell, (Fraction(-a), Fraction(1), Fraction(0)))  # columns >= a
        if _wrong_count(right, d) == 0:
            return
        lo, hi = a, last  # the first column in [a, last] with a wrong point
        while lo < hi:
            mid = (lo + hi) // 2
            if _wrong_count(clip(right, (Fraction(mid), Fraction(-1), Fraction(0))), d) > 0:
                hi = mid
            else:
                lo = mid + 1
        b0, b1 = _column_range(cell, lo)
        for b in range(b0, b1 + 1):
            if d[0] + d[1] * lo + d[2] * b != 0:
                yield lo, b
        a = lo + 1


def _tagged(points: Iterator[tuple[int, int]], k: int) -> Iterator[tuple[int, int, int]]:
    for a, b in points:
        yield a, b, k


# ---- the analysis --------------------------------------------------------------------------
def _combine(f: Affine, vals: dict[int, Lin]) -> Lin:
    c0, ca, cb = f.const, Fraction(0), Fraction(0)
    for s, k in f.coef.items():
        v0, va, vb = vals[s]
        c0, ca, cb = c0 + k * v0, ca + k * va, cb + k * vb
    return c0, ca, cb


def _check_pieces(pieces: Sequence[TargetPiece], box: Polygon, side: int) -> list[Polygon]:
    """Each piece clipped to the box; refuse pieces that do not split the grid's points."""
    shapes = []
    for piece in pieces:
        poly = box
        for h in piece.where:
            poly = clip(poly, h) if poly else poly
        shapes.append(poly)
    for (i, p), (j, q) in itertools.combinations(enumerate(shapes), 2):
        both = p
        for h in pieces[j].where:
            both = clip(both, h) if both else both
        if lattice_points(both):
            raise ValueError(f"target pieces {i} and {j} share grid points")
    if sum(lattice_points(p) for p in shapes) != side * side:
        raise ValueError("the target pieces leave grid points uncovered")
    return shapes


def _cap_message(net: UnitNet, j: int, cap: int) -> str:
    where = net.units[j].where
    at = f"unit {j + 1} of {len(net.units)}" + (f" ({where})" if where else "")
    return f"more than {cap:,} linear regions on the grid after {at}"


def verify_regions(net: UnitNet, lo: int, hi: int, pieces: Sequence[TargetPiece],
                   max_regions: int = MAX_REGIONS, show: int = 5) -> RegionVerdict:
    """Decide exactly whether the two-input ReLU network `net` equals the target given by
    `pieces` on every integer point of [lo, hi]², without visiting the points.  Raises
    RegionCapExceeded as soon as more than `max_regions` regions would be held (at most
    max_regions + 1 are ever built), ValueError for other units, arities or bad pieces."""
    if net.arity != 2:
        raise ValueError("region analysis takes two-input networks")
    if any(u.kind != "relu" for u in net.units):
        raise ValueError("region analysis handles ReLU units only")
    if lo > hi:
        raise ValueError(f"empty grid [{lo}, {hi}]²")
    f0, f1 = Fraction(0), Fraction(1)
    L, H = Fraction(lo), Fraction(hi)
    box: Polygon = [(L, L), (H, L), (H, H), (L, H)]
    shapes = _check_pieces(pieces, box, hi - lo + 1)
    last = net.last_use()
    start = {s: v for s, v in ((0, (f0, f1, f0)), (1, (f0, f0, f1))) if s in last}
    regions: list[tuple[Polygon, dict[int, Lin]]] = [(box, start)]
    for j, unit in enumerate(net.units):
        src = 2 + j
        nxt: list[tuple[Polygon, dict[int, Lin]]] = []
        for poly, vals in regions:
            pre = _combine(unit.pre, vals)
            signs = [_at(pre, p) for p in poly]
            keep = {s: v for s, v in vals.items() if last[s] > j}
            if all(v >= 0 for v in signs):
                parts = [(poly, pre)]
            elif all(v <= 0 for v in signs):
                parts = [(poly, (f0, f0, f0))]
            else:
                den = lcm(pre[0].denominator, pre[1].denominator, pre[2].denominator)
                off = (-den * pre[0] - 1, -den * pre[1], -den * pre[2])  # den·pre <= -1
                parts = [(p, v) for p, v in ((clip(poly, pre), pre), (clip(poly, off), (f0, f0, f0)))
                         if lattice_points(p)]
            for p, v in parts:
                out = dict(keep)
                if src in last:
                    out[src] = v
                nxt.append((p, out))
                if len(nxt) > max_regions:
                    raise RegionCapExceeded(_cap_message(net, j, max_regions))
        regions = nxt
    wrong, cells = 0, 0
    bad: list[tuple[Polygon, Lin, Lin, Lin]] = []
    for poly, vals in regions:
        out = _combine(net.output, vals)
        for piece, shape in zip(pieces, shapes):
            if not shape:
                continue
            cell = poly
            for h in piece.where:
                cell = clip(cell, h) if cell else cell
            if not cell or not lattice_points(cell):
                continue
            cells += 1
            d = (out[0] - piece.value[0], out[1] - piece.value[1], out[2] - piece.value[2])
            n = _wrong_count(cell, d)
            if n:
                wrong += n
                bad.append((cell, d, out, piece.value))
    streams = [_tagged(_wrong_points(cell, d), k) for k, (cell, d, _, _) in enumerate(bad)]
    examples = []
    for a, b, k in itertools.islice(heapq.merge(*streams), show):
        _, _, out, value = bad[k]
        p = (Fraction(a), Fraction(b))
        examples.append(RegionCounterexample(a, b, _at(out, p), _at(value, p)))
    return RegionVerdict(wrong == 0, wrong, examples, len(regions), cells)


__all__ = ["MAX_PIECES", "MAX_REGIONS", "MIN_PIECES", "RegionCapExceeded", "RegionCounterexample",
           "RegionVerdict", "TargetPiece", "clip", "floor_sum", "lattice_points", "verify_regions"]
