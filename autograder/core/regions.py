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

Everything runs on Python integers: vertices in homogeneous coordinates (X, Y, W), each
unit's value under a fixed integer scale, and lattice points counted with floor sums.  When
the regions or the steps exceed a cap, RegionCapExceeded says so and the caller falls back to
enumeration (or fails closed); the cap is checked at every split, so giving up is cheap.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cmp_to_key
from math import gcd, lcm
from typing import NamedTuple

from .normal import Affine, UnitNet

MAX_REGIONS = 20_000
# (region, unit) steps: bounds the time spent before giving up.  One step costs about as much
# as 200 (point, unit) steps of exact enumeration (measured on 2 cores), so a caller may pass
# max_visits = points · units // 200 to never spend much more than enumeration would.
MAX_VISITS = 1_000_000
Lin = tuple[Fraction, Fraction, Fraction]  # c0 + ca·a + cb·b
IntLin = tuple[int, int, int]  # the same with integer coefficients
Point = tuple[int, int, int]  # (X, Y, W), W > 0: the point (X/W, Y/W)
Polygon = list[Point]  # convex, vertices in cyclic order; may be a segment or a single point


class RegionCapExceeded(Exception):
    """The network cuts the grid into more linear regions (or needs more region steps) than
    the analysis will follow; the caller decides the grid another way (enumeration) or fails
    closed.  The message says after which unit and why."""


@dataclass(frozen=True)
class TargetPiece:
    """Part of a target's definition: on the lattice points (a, b) with h(a, b) >= 0 for every
    h in `where`, the target equals `value`(a, b).  Each of `where` and `value` is an affine
    form (c0, ca, cb) meaning c0 + ca·a + cb·b.  The pieces given for a target must split the
    integer points of the grid exactly (each point in exactly one piece); strict inequalities
    are written for integers, e.g. a > b as a - b - 1 >= 0.  An empty `where` is the plane.
    Pieces do not depend on the grid: `verify_regions` clips them to it and refuses pieces
    that overlap on, or leave out, a grid point.  A riddle states its target this way."""

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


# ---- exact geometry in integers -----------------------------------------------------------
# A point is (X, Y, W) with W > 0 and gcd 1: the point (X/W, Y/W).  A half-plane or line is
# (h0, ha, hb) in integers: h0 + ha·a + hb·b >= 0.  Signs then need no fractions:
# h0·W + ha·X + hb·Y has the sign of h at the point.  Python integers never overflow.
def ints(f: Lin) -> IntLin:
    """The affine form scaled by a positive integer to integer coefficients (same sign)."""
    den = lcm(f[0].denominator, f[1].denominator, f[2].denominator)
    return (f[0].numerator * (den // f[0].denominator), f[1].numerator * (den // f[1].denominator),
            f[2].numerator * (den // f[2].denominator))


def point(a: int, b: int) -> Point:
    return (a, b, 1)


def _value(h: IntLin, p: Point) -> int:
    return h[0] * p[2] + h[1] * p[0] + h[2] * p[1]


def _reduced(x: int, y: int, w: int) -> Point:
    g = gcd(x, y, w)
    return (x // g, y // g, w // g)


def clip(poly: Polygon, h: IntLin) -> Polygon:
    """The part of a convex polygon where h >= 0 (Sutherland–Hodgman for one closed
    half-plane, exact), repeated vertices removed."""
    out: Polygon = []
    n = len(poly)
    vals = [_value(h, p) for p in poly]
    if all(v >= 0 for v in vals):
        return poly
    for i in range(n):
        p, q, fp, fq = poly[i], poly[(i + 1) % n], vals[i], vals[(i + 1) % n]
        if fp >= 0:
            out.append(p)
        if (fp > 0 > fq) or (fp < 0 < fq):
            if fp < 0:
                p, q, fp, fq = q, p, fq, fp
            # fp·Q − fq·P lies on h = 0 and, as fp > 0 > fq, has a positive weight.
            out.append(_reduced(fp * q[0] - fq * p[0], fp * q[1] - fq * p[1], fp * q[2] - fq * p[2]))
    dedup = [p for i, p in enumerate(out) if p != out[i - 1]] if len(out) > 1 else out
    return dedup or out[:1]


def _turn(o: Point, p: Point, q: Point) -> int:
    """Positive when o → p → q turns left (the determinant has the sign of the cross product
    because every weight is positive)."""
    return (o[0] * (p[1] * q[2] - p[2] * q[1]) - o[1] * (p[0] * q[2] - p[2] * q[0])
            + o[2] * (p[0] * q[1] - p[1] * q[0]))


def _compare(p: Point, q: Point) -> int:
    c = p[0] * q[2] - q[0] * p[2] or p[1] * q[2] - q[1] * p[2]
    return (c > 0) - (c < 0)


_by_x_then_y = cmp_to_key(_compare)


def _hull_chains(poly: Polygon) -> tuple[list[Point], list[Point]]:
    """Lower and upper chains of the polygon, both from left to right (monotone chain), so
    that degenerate polygons (segments, repeated vertices) need no special order."""
    pts = sorted(set(poly), key=_by_x_then_y)

    def chain(points: list[Point]) -> list[Point]:
        c: list[Point] = []
        for p in points:
            while len(c) >= 2 and _turn(c[-2], c[-1], p) <= 0:
                c.pop()
            c.append(p)
        return c

    return chain(pts), chain(pts[::-1])[::-1]


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


def _ceil(x: int, w: int) -> int:
    return -(-x // w)


def _sum_floor_on_chain(chain: list[Point], x0: int, x1: int, sign: int) -> int:
    """sum(floor(sign·y(x))) over integers x in [x0, x1], y the piecewise-linear chain
    (left to right, covering [x0, x1]).  Each integer belongs to exactly one edge."""
    total = 0
    edges = [(p, q) for p, q in itertools.pairwise(chain) if p[0] * q[2] != q[0] * p[2]]
    for k, (p, q) in enumerate(edges):
        lo = max(x0, _ceil(p[0], p[2]))
        hi = min(x1, q[0] // q[2] if k == len(edges) - 1 else _ceil(q[0], q[2]) - 1)
        if lo > hi:
            continue
        # The line through p and q: l1·x + l2·y + l3 = 0 (l = p × q), l2 != 0 as p.x != q.x.
        l1 = p[1] * q[2] - p[2] * q[1]
        l2 = p[2] * q[0] - p[0] * q[2]
        l3 = p[0] * q[1] - p[1] * q[0]
        if l2 * sign > 0:  # sign·y = (m1·x + m3) / r with r > 0
            m1, m3, r = -l1, -l3, l2 * sign
        else:
            m1, m3, r = l1, l3, -l2 * sign
        total += floor_sum(hi - lo + 1, r, m1, m1 * lo + m3)
    return total


def lattice_points(poly: Polygon) -> int:
    """The number of integer points in a convex polygon with rational vertices, exactly:
    per column floor(top) - ceil(bottom) + 1, summed edge by edge in closed form."""
    if not poly:
        return 0
    x0 = min(_ceil(p[0], p[2]) for p in poly)  # ceil of the smallest x
    x1 = max(p[0] // p[2] for p in poly)  # floor of the largest x
    if x0 > x1:
        return 0
    first = poly[0]
    if all(p[0] * first[2] == first[0] * p[2] for p in poly):  # a vertical segment or a point
        return max(0, max(p[1] // p[2] for p in poly) - min(_ceil(p[1], p[2]) for p in poly) + 1)
    lower, upper = _hull_chains(poly)
    return (_sum_floor_on_chain(upper, x0, x1, 1) + _sum_floor_on_chain(lower, x0, x1, -1)
            + (x1 - x0 + 1))


def _wrong_count(cell: Polygon, d: IntLin) -> int:
    """Lattice points of the cell where the affine d is not zero."""
    if not any(d):
        return 0
    on_line = clip(clip(cell, d), (-d[0], -d[1], -d[2]))
    return lattice_points(cell) - lattice_points(on_line)


def _column_range(cell: Polygon, a: int) -> tuple[int, int]:
    seg = clip(clip(cell, (-a, 1, 0)), (a, -1, 0))
    if not seg:
        return 0, -1
    return min(_ceil(p[1], p[2]) for p in seg), max(p[1] // p[2] for p in seg)


def _wrong_points(cell: Polygon, d: IntLin) -> Iterator[tuple[int, int]]:
    """The cell's wrong lattice points in (a, b) order.  The next column holding one is
    found by bisection on wrong counts, so a long thin cell costs O(log width) per column."""
    a, last = min(_ceil(p[0], p[2]) for p in cell), max(p[0] // p[2] for p in cell)
    while a <= last:
        right = clip(cell, (-a, 1, 0))  # columns >= a
        if _wrong_count(right, d) == 0:
            return
        lo, hi = a, last  # the first column in [a, last] with a wrong point
        while lo < hi:
            mid = (lo + hi) // 2
            if _wrong_count(clip(right, (mid, -1, 0)), d) > 0:
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
@dataclass
class _Scaled:
    """An affine form over the sources, scaled so that integer arithmetic suffices: `scale` >0
    times the form is const + sum(coef[s] · V_s), with V_s = scale_s · (source s) the integer
    value triples the regions carry (scale 1 for the inputs).  A unit's scale is the same in
    every region, so a region stores integers only."""

    scale: int
    const: int
    coef: dict[int, int]


def _scaled(f: Affine, scales: dict[int, int]) -> _Scaled:
    ratios = {s: c / scales[s] for s, c in f.coef.items()}
    scale = lcm(f.const.denominator, *(r.denominator for r in ratios.values()))
    return _Scaled(scale, int(f.const * scale), {s: int(r * scale) for s, r in ratios.items()})


def _combine(f: _Scaled, vals: dict[int, IntLin]) -> IntLin:
    c0, ca, cb = f.const, 0, 0
    for s, k in f.coef.items():
        v0, va, vb = vals[s]
        c0, ca, cb = c0 + k * v0, ca + k * va, cb + k * vb
    return c0, ca, cb


def _clip_all(poly: Polygon, where: Sequence[IntLin]) -> Polygon:
    for h in where:
        if not poly:
            break
        poly = clip(poly, h)
    return poly


def _check_pieces(wheres: list[list[IntLin]], box: Polygon, side: int) -> None:
    """Refuse target pieces that do not split the grid's points: no point in two pieces, and
    as many points in all pieces together as in the grid."""
    shapes = [_clip_all(box, w) for w in wheres]
    for (i, p), j in itertools.product(enumerate(shapes), range(len(wheres))):
        if i < j and lattice_points(_clip_all(p, wheres[j])):
            raise ValueError(f"target pieces {i} and {j} share grid points")
    if sum(lattice_points(p) for p in shapes) != side * side:
        raise ValueError("the target pieces leave grid points uncovered")


def _unit_name(net: UnitNet, j: int) -> str:
    where = net.units[j].where
    return f"unit {j + 1} of {len(net.units)}" + (f" ({where})" if where else "")


def _cap_message(net: UnitNet, j: int, cap: int) -> str:
    return f"more than {cap:,} linear regions on the grid after {_unit_name(net, j)}"


def verify_regions(net: UnitNet, lo: int, hi: int, pieces: Sequence[TargetPiece],
                   max_regions: int = MAX_REGIONS, max_visits: int = MAX_VISITS,
                   show: int = 5) -> RegionVerdict:
    """Decide exactly whether the two-input ReLU network `net` equals the target given by
    `pieces` on every integer point of [lo, hi]², without visiting the points.  Raises
    RegionCapExceeded as soon as more than `max_regions` regions would be held (at most
    max_regions + 1 are ever built) or more than `max_visits` (region, unit) steps would be
    taken, so the time spent before giving up is bounded; ValueError for other units,
    arities or bad pieces."""
    if net.arity != 2:
        raise ValueError("region analysis takes two-input networks")
    if any(u.kind != "relu" for u in net.units):
        raise ValueError("region analysis handles ReLU units only")
    if lo > hi:
        raise ValueError(f"empty grid [{lo}, {hi}]²")
    box: Polygon = [point(lo, lo), point(hi, lo), point(hi, hi), point(lo, hi)]
    wheres = [[ints(h) for h in piece.where] for piece in pieces]
    _check_pieces(wheres, box, hi - lo + 1)
    last = net.last_use()
    dead: list[list[int]] = [[] for _ in net.units]  # sources read for the last time by unit j
    for s, j in last.items():
        if j < len(net.units):
            dead[j].append(s)
    scales = {0: 1, 1: 1}
    pres = []
    for j, unit in enumerate(net.units):
        pres.append(_scaled(unit.pre, scales))
        scales[2 + j] = pres[-1].scale
    output = _scaled(net.output, scales)
    start = {s: v for s, v in ((0, (0, 1, 0)), (1, (0, 0, 1))) if s in last}
    regions: list[tuple[Polygon, dict[int, IntLin]]] = [(box, start)]
    visits = 0
    for j, pre in enumerate(pres):
        src = 2 + j
        visits += len(regions)
        if visits > max_visits:
            raise RegionCapExceeded(f"more than {max_visits:,} region steps by {_unit_name(net, j)} "
                                    f"({len(regions):,} linear regions on the grid so far)")
        nxt: list[tuple[Polygon, dict[int, IntLin]]] = []
        for poly, vals in regions:  # each region owns its dict: update it in place
            h = _combine(pre, vals)  # scale · pre-activation, integer coefficients
            for s in dead[j]:
                del vals[s]
            signs = [_value(h, p) for p in poly]
            if all(v >= 0 for v in signs):
                parts = [(poly, h)]
            elif all(v <= 0 for v in signs):
                parts = [(poly, (0, 0, 0))]
            else:  # on: h >= 0; off: h <= -1, the same integer points as h < 0
                on, off = clip(poly, h), clip(poly, (-h[0] - 1, -h[1], -h[2]))
                parts = [(p, v) for p, v in ((on, h), (off, (0, 0, 0))) if lattice_points(p)]
            for k, (p, v) in enumerate(parts):
                out = vals if k == len(parts) - 1 else dict(vals)
                if src in last:
                    out[src] = v
                nxt.append((p, out))
                if len(nxt) > max_regions:
                    raise RegionCapExceeded(_cap_message(net, j, max_regions))
        regions = nxt
    wrong, cells = 0, 0
    bad: list[tuple[Polygon, IntLin, Lin, Lin]] = []
    for poly, vals in regions:
        o0, oa, ob = _combine(output, vals)
        got = (Fraction(o0, output.scale), Fraction(oa, output.scale), Fraction(ob, output.scale))
        for piece, where in zip(pieces, wheres):
            cell = _clip_all(poly, where)
            if not cell or not lattice_points(cell):
                continue
            cells += 1
            d = ints((got[0] - piece.value[0], got[1] - piece.value[1], got[2] - piece.value[2]))
            n = _wrong_count(cell, d)
            if n:
                wrong += n
                bad.append((cell, d, got, piece.value))
    streams = [_tagged(_wrong_points(cell, d), k) for k, (cell, d, _, _) in enumerate(bad)]
    examples = []
    for a, b, k in itertools.islice(heapq.merge(*streams), show):
        _, _, formula, value = bad[k]
        examples.append(RegionCounterexample(a, b, _at(formula, a, b), _at(value, a, b)))
    return RegionVerdict(wrong == 0, wrong, examples, len(regions), cells)


def _at(f: Lin, a: int, b: int) -> Fraction:
    return f[0] + f[1] * a + f[2] * b


__all__ = ["MAX_PIECES", "MAX_REGIONS", "MAX_VISITS", "MIN_PIECES", "RegionCapExceeded", "RegionCounterexample",
           "RegionVerdict", "TargetPiece", "clip", "floor_sum", "ints", "lattice_points", "point", "verify_regions"]
