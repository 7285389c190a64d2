"""Does the region-by-region analysis of two-input networks give exactly the verdict, the
wrong-point count and the counterexamples that exact enumeration of the grid gives?"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction
from math import lcm

import numpy as np
import pytest
import torch
from torch import nn

from autograder.core.capture import capture
from autograder.core.evaluate import exact_output
from autograder.core.network import Network
from autograder.core.normal import normal_form
from autograder.core.regions import (
    MAX_PIECES,
    MIN_PIECES,
    RegionCapExceeded,
    RegionCounterexample,
    TargetPiece,
    floor_sum,
    lattice_points,
    verify_regions,
)
from solutions import reference as R
from solutions.article import LearnedMin, MinModel

SMALL, PUBLIC, EXTENDED = (-8, 7), (-50, 49), (-1024, 1023)


def _grid(lo: int, hi: int) -> np.ndarray:
    g = np.arange(lo, hi + 1, dtype=np.int64)
    a, b = np.meshgrid(g, g, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1)


def brute_force(net: Network, lo: int, hi: int, target=np.minimum) -> tuple[int, list[RegionCounterexample]]:  # type: ignore[no-untyped-def]
    """Every grid point, exactly: the wrong count and the first five wrong points in (a, b) order."""
    pts = _grid(lo, hi)
    out = exact_output(net, pts)
    want = target(pts[:, 0], pts[:, 1])
    diff = out.num.astype(object) - want.astype(object) * out.den
    bad = np.nonzero(diff != 0)[0]
    shown = [RegionCounterexample(int(pts[i, 0]), int(pts[i, 1]), Fraction(int(out.num[i]), out.den),
                                  Fraction(int(want[i]))) for i in bad[:5]]
    return len(bad), shown


def _set(layer: nn.Linear, weight: list[list[float]], bias: list[float]) -> nn.Linear:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


class Lambda(nn.Module):
    def __init__(self, fn) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class SkipNet(nn.Module):
    """Layers of ReLU units, each reading the previous layer and (when `skip`) the raw inputs;
    the output reads the last layer and the raw inputs."""

    def __init__(self, layers: list[nn.Linear], head: nn.Linear, skip: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.head = head
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for k, layer in enumerate(self.layers):
            h = torch.relu(layer(torch.cat([h, x], dim=1) if self.skip and k > 0 else h))
        return self.head(torch.cat([h, x], dim=1))


def _regions(net: Network, lo: int, hi: int, pieces=MIN_PIECES, **kw):  # type: ignore[no-untyped-def]
    return verify_regions(normal_form(net), lo, hi, pieces, **kw)


# ---- the references ------------------------------------------------------------------------
@pytest.mark.parametrize("factory", [R.min_network, R.min_network_sequential, R.min_network_everywhere],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("grid", [PUBLIC, EXTENDED], ids=["public", "extended"])
def test_every_reference_min_network_is_exact(factory, grid) -> None:  # type: ignore[no-untyped-def]
    v = _regions(capture(factory(), 2), *grid)
    assert v.exact and v.wrong == 0 and v.counterexamples == []
    assert v.regions >= 2


@pytest.mark.parametrize("grid", [PUBLIC, EXTENDED], ids=["public", "extended"])
def test_the_article_min_networks_get_the_enumeration_verdict(grid) -> None:  # type: ignore[no-untyped-def]
    """Equation 1 is exact; the trained 1.41 × 0.71 network is wrong wherever a > b."""
    assert _regions(capture(MinModel(), 2), *grid).exact
    learned = capture(LearnedMin(), 2)
    v = _regions(learned, *grid)
    side = grid[1] - grid[0] + 1
    assert (v.exact, v.wrong) == (False, side * (side - 1) // 2)
    assert (v.wrong, v.counterexamples) == brute_force(learned, *grid)


def test_min_sequential_fails_where_its_offset_runs_out() -> None:
    """ReLU(b + K) − ReLU(b − a) − K is min(a, b) only while b >= −K."""
    net = capture(R.min_network_sequential(k=20.0), 2)
    v = _regions(net, *PUBLIC)
    count, shown = brute_force(net, *PUBLIC)
    assert not v.exact and v.wrong == count == 30 * 100  # every b in -50..-21, every a
    assert v.counterexamples == shown


# ---- random networks against enumeration ---------------------------------------------------
HALVES = [k / 2 for k in range(-4, 5)]


def random_network(rng: random.Random) -> nn.Module:
    """Small nets with integer or half-integer weights: plain stacks, hand-built skips, and
    nudged or untouched versions of min(a, b) = a − ReLU(a − b)."""
    kind = rng.choice(["stack", "skip", "min"])
    if kind == "min":
        k = rng.choice([1.0, 2.0, 0.5])
        w = [[1 / k, -1 / k]]
        bias = [0.0]
        outw, skip_a = k, 1.0
        if rng.random() < 0.6:
            what = rng.choice(["w", "bias", "out", "skip"])
            if what == "w":
                w[0][rng.randrange(2)] += rng.choice([-0.5, 0.5])
            elif what == "bias":
                bias[0] = rng.choice([-1.0, -0.5, 0.5, 1.0, -2.0])
            elif what == "out":
                outw += rng.choice([-0.5, 0.5])
            else:
                skip_a += rng.choice([-0.5, 0.5])
        layer = _set(nn.Linear(2, 1), w, bias)
        head = _set(nn.Linear(3, 1), [[-outw, skip_a, 0.0]], [0.0])
        return SkipNet([layer], head, skip=False)
    depth, skip = rng.randint(1, 3), kind == "skip"
    widths = [rng.randint(1, 3) for _ in range(depth)]
    layers, width_in = [], 2
    for k, w in enumerate(widths):
        fan_in = width_in + (2 if skip and k > 0 else 0)
        layers.append(_set(nn.Linear(fan_in, w), [[rng.choice(HALVES) for _ in range(fan_in)] for _ in range(w)],
                           [float(rng.randint(-6, 6)) / rng.choice([1, 2]) for _ in range(w)]))
        width_in = w
    head = _set(nn.Linear(width_in + 2, 1), [[rng.choice(HALVES) for _ in range(width_in + 2)]],
                [float(rng.randint(-3, 3))])
    return SkipNet(layers, head, skip)


@pytest.mark.parametrize(("grid", "count", "seed"), [(SMALL, 80, 1), (PUBLIC, 30, 2)], ids=["small", "public"])
def test_regions_agree_with_enumeration_on_random_networks(grid, count, seed) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    verdicts = set()
    for _ in range(count):
        net = capture(random_network(rng), 2)
        v = _regions(net, *grid)
        wrong, shown = brute_force(net, *grid)
        assert (v.exact, v.wrong) == (wrong == 0, wrong)
        assert v.counterexamples == shown
        for c in v.counterexamples:  # each one is truly wrong, by the network's own exact value
            got = exact_output(net, np.array([[c.a, c.b]])).fractions()[0]
            assert got == c.got != min(c.a, c.b) == c.expected
        verdicts.add(v.exact)
    assert verdicts == {True, False}


class MinPlusBump(nn.Module):
    """a − ReLU(a − b) + ReLU(3·stack(a, b))."""

    def __init__(self, stack: nn.Module) -> None:
        super().__init__()
        self.stack = stack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1] - torch.relu(x[:, :1] - x[:, 1:]) + torch.relu(self.stack(x) * 3)


def test_regions_agree_with_enumeration_on_networks_with_arbitrary_float_weights() -> None:
    """torch's own initialisation: float32 weights whose exact values have 2^-30-ish
    denominators, so every vertex and every count runs on large exact integers."""
    torch.manual_seed(7)
    side = SMALL[1] - SMALL[0] + 1
    partial = 0
    for k in range(16):
        widths = [2] + [1 + k % 3] * (1 + k % 2) + [1]
        layers: list[nn.Module] = []
        for w_in, w_out in itertools.pairwise(widths):
            layers += [nn.Linear(w_in, w_out), nn.ReLU()]
        stack = nn.Sequential(*layers[:-1])
        if k % 2:  # min(a, b) plus a ReLU bump with float weights, zero on part of the grid
            net = capture(MinPlusBump(nn.Linear(2, 1)), 2)
        else:
            net = capture(stack, 2)
        v = _regions(net, *SMALL)
        wrong, shown = brute_force(net, *SMALL)
        assert (v.wrong, v.counterexamples) == (wrong, shown)
        partial += 0 < wrong < side * side
    assert partial >= 3


def test_a_max_target_is_checked_with_its_own_pieces() -> None:
    net = capture(Lambda(lambda x: x[:, :1] + torch.relu(x[:, 1:] - x[:, :1])), 2)
    assert _regions(net, *PUBLIC, pieces=MAX_PIECES).exact
    v = _regions(net, *PUBLIC)
    assert (v.exact, v.wrong) == (False, brute_force(net, *PUBLIC)[0]) and v.wrong == 100 * 99  # every a != b


# ---- the cap and bad input -----------------------------------------------------------------
def _fan(units: int) -> nn.Module:
    """`units` ReLU lines in many directions: many regions."""
    rng = random.Random(5)
    w = [[float(rng.randint(-9, 9)), float(rng.randint(-9, 9))] for _ in range(units)]
    b = [float(rng.randint(-40, 40)) for _ in range(units)]
    return nn.Sequential(_set(nn.Linear(2, units), w, b), nn.ReLU(),
                         _set(nn.Linear(units, 1), [[1.0] * units], [0.0]))


def test_too_many_regions_raise_the_cap_error_at_the_unit_that_crosses_it() -> None:
    un = normal_form(capture(_fan(16), 2))
    with pytest.raises(RegionCapExceeded, match=r"more than 10 linear regions on the grid after unit \d+ of 16"):
        verify_regions(un, *PUBLIC, MIN_PIECES, max_regions=10)
    v = verify_regions(un, *PUBLIC, MIN_PIECES)  # under the default cap it is decided
    assert v.regions > 10 and v.wrong == brute_force(capture(_fan(16), 2), *PUBLIC)[0]


def test_a_long_network_runs_out_of_steps_before_it_runs_out_of_regions() -> None:
    """Each of 40 units adds few regions, but every unit visits all of them: the step budget
    stops the work while the region count is still small."""
    un = normal_form(capture(_fan(40), 2))
    with pytest.raises(RegionCapExceeded, match=r"more than 300 region steps by unit \d+ of 40 (\([^)]*\) )?\(\d+ linear"):
        verify_regions(un, *PUBLIC, MIN_PIECES, max_visits=300)
    assert verify_regions(un, *PUBLIC, MIN_PIECES, max_visits=10**6).regions < 20_000


def test_sigmoid_units_and_one_input_networks_are_refused() -> None:
    sig = capture(nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()), 2)
    with pytest.raises(ValueError, match="ReLU units only"):
        _regions(sig, *SMALL)
    with pytest.raises(ValueError, match="two-input"):
        _regions(capture(R.lt10_relu(), 1), *SMALL)


def test_pieces_that_do_not_split_the_grid_are_refused() -> None:
    net = capture(R.min_network(), 2)
    overlapping = (TargetPiece.of([(0, -1, 1)], (0, 1, 0)), TargetPiece.of([(0, 1, -1)], (0, 0, 1)))
    with pytest.raises(ValueError, match="share grid points"):
        _regions(net, *SMALL, pieces=overlapping)
    gap = (TargetPiece.of([(-1, -1, 1)], (0, 1, 0)), TargetPiece.of([(-1, 1, -1)], (0, 0, 1)))
    with pytest.raises(ValueError, match="uncovered"):
        _regions(net, *SMALL, pieces=gap)


# ---- wrong on a point, a diagonal, a column ------------------------------------------------
def _min_plus(bump) -> nn.Module:  # type: ignore[no-untyped-def]
    return Lambda(lambda x: x[:, :1] - torch.relu(x[:, :1] - x[:, 1:]) + bump(x[:, :1], x[:, 1:]))


def _spike(u: torch.Tensor) -> torch.Tensor:
    """1 where the integer u is 0, 0 at every other integer."""
    return torch.relu(1 - torch.relu(u) - torch.relu(-u))


@pytest.mark.parametrize("grid", [PUBLIC, EXTENDED], ids=["public", "extended"])
def test_a_single_wrong_corner_is_found(grid) -> None:  # type: ignore[no-untyped-def]
    lo, hi = grid
    net = capture(_min_plus(lambda a, b: torch.relu(a + b - (2 * hi - 1))), 2)
    v = _regions(net, lo, hi)
    assert (v.exact, v.wrong) == (False, 1)
    assert v.counterexamples == [RegionCounterexample(hi, hi, Fraction(hi + 1), Fraction(hi))]


@pytest.mark.parametrize("grid", [PUBLIC, EXTENDED], ids=["public", "extended"])
def test_a_network_wrong_only_on_the_diagonal_is_found(grid) -> None:  # type: ignore[no-untyped-def]
    lo, hi = grid
    v = _regions(capture(_min_plus(lambda a, b: _spike(a - b)), 2), lo, hi)
    assert (v.exact, v.wrong) == (False, hi - lo + 1)
    assert [(c.a, c.b, c.got - c.expected) for c in v.counterexamples] == [(lo + k, lo + k, 1) for k in range(5)]


@pytest.mark.parametrize("grid", [PUBLIC, EXTENDED], ids=["public", "extended"])
def test_a_network_wrong_only_on_one_column_is_found(grid) -> None:  # type: ignore[no-untyped-def]
    lo, hi = grid
    column = 7
    v = _regions(capture(_min_plus(lambda a, b: _spike(a - column) / 4), 2), lo, hi)
    assert (v.exact, v.wrong) == (False, hi - lo + 1)
    assert [(c.a, c.b, c.got - c.expected) for c in v.counterexamples] == [
        (column, lo + k, Fraction(1, 4)) for k in range(5)]


def test_the_diagonal_network_agrees_with_enumeration_on_the_public_grid() -> None:
    net = capture(_min_plus(lambda a, b: _spike(a - b) - _spike(a - 3)), 2)
    v = _regions(net, *PUBLIC)
    count, shown = brute_force(net, *PUBLIC)
    assert (v.wrong, v.counterexamples) == (count, shown) and count == 100 + 100 - 2


# ---- the exact lattice arithmetic underneath -----------------------------------------------
def test_floor_sum_matches_the_sum_it_stands_for() -> None:
    rng = random.Random(3)
    for _ in range(500):
        n, m, a, b = rng.randint(0, 40), rng.randint(1, 30), rng.randint(-50, 50), rng.randint(-200, 200)
        assert floor_sum(n, m, a, b) == sum((a * i + b) // m for i in range(n))


def test_lattice_points_of_random_rational_polygons_match_a_direct_count() -> None:
    """Triangles, segments and points with vertices on a 1/6 grid, counted point by point."""
    rng = random.Random(4)
    for _ in range(400):
        k = rng.choice([1, 2, 3])
        poly = [(Fraction(rng.randint(-30, 30), 6), Fraction(rng.randint(-30, 30), 6)) for _ in range(k)]
        if k == 3:
            (x0, y0), (x1, y1), (x2, y2) = poly
            if (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0) < 0:
                poly = poly[::-1]
        direct = 0
        for a in range(-5, 6):
            for b in range(-5, 6):
                if k == 3:
                    inside = all((q[0] - p[0]) * (b - p[1]) - (q[1] - p[1]) * (a - p[0]) >= 0
                                 for p, q in zip(poly, poly[1:] + poly[:1]))
                elif k == 2:
                    (x0, y0), (x1, y1) = poly
                    inside = ((x1 - x0) * (b - y0) == (y1 - y0) * (a - x0)
                              and min(x0, x1) <= a <= max(x0, x1) and min(y0, y1) <= b <= max(y0, y1))
                else:
                    inside = poly[0] == (a, b)
                direct += inside
        homogeneous = []
        for x, y in poly:
            w = lcm(x.denominator, y.denominator)
            homogeneous.append((int(x * w), int(y * w), w))
        assert lattice_points(homogeneous) == direct, poly
