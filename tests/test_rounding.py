"""Is the float pass's answer the same in every order of adding?  (autograder/core/rounding.py)

The bounds are checked against the truth: seeded random networks (dyadic and not, float32 and
float64, with weights that cancel) run by PyTorch in a batch and one input at a time, and
evaluated exactly; every run must lie within the bound of the exact value, and a network
proven "the same in every order" must give the same bits in both."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from autograder.core.capture import capture
from autograder.core.evaluate import exact_output, exact_values
from autograder.core.ranges import ranges
from autograder.core.riddles import RIDDLES
from autograder.core.rounding import at_points, same_in_every_order
from autograder.core.verify import verify
from solutions import reference as R


def _random_net(gen: torch.Generator, dtype: torch.dtype, dyadic: bool, big: float) -> nn.Module:
    width = int(torch.randint(1, 5, (1,), generator=gen))
    depth = int(torch.randint(1, 4, (1,), generator=gen))
    dims = [1] + [width] * depth + [1]
    layers: list[nn.Module] = []
    for a, b in zip(dims, dims[1:]):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            w = torch.randint(-8, 9, lin.weight.shape, generator=gen).double() / 4
            if not dyadic:
                w = w + torch.rand(lin.weight.shape, generator=gen, dtype=torch.float64) / 10
            if big and b == 1:  # a pair of output weights that cancel: ±big
                w[0, 0], w[0, -1] = big, -big if a > 1 else big
            lin.weight.copy_(w)
            lin.bias.copy_(torch.randint(-64, 65, lin.bias.shape, generator=gen).double() / 2)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers[:-1]).to(dtype)


CASES = [(seed, dtype, dyadic, big) for seed in range(6) for dtype in (torch.float32, torch.float64)
         for dyadic, big in ((True, 0.0), (False, 0.0), (True, 2.0**28))]


@pytest.mark.parametrize(("seed", "dtype", "dyadic", "big"), CASES)
def test_every_run_lies_within_the_bound_of_the_exact_value(seed: int, dtype: torch.dtype, dyadic: bool,
                                                            big: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    module = _random_net(gen, dtype, dyadic, big)
    net = capture(module, 1)
    pts = np.arange(-300, 301, dtype=np.int64)[:, None]
    exact = [Fraction(f) for f in exact_output(net, pts).fractions()]
    bound = at_points(net, pts.astype(np.float64)).err.reshape(-1)
    x = torch.from_numpy(pts.astype(np.float64)).to(dtype)
    with torch.no_grad():
        batch = module(x).reshape(-1).double().tolist()
        alone = [float(module(x[i:i + 1])) for i in range(len(x))]
    for i, e in enumerate(exact):
        for got in (batch[i], alone[i]):
            assert abs(Fraction(got) - e) <= Fraction(float(bound[i])), (i, got, float(e), bound[i])
    if same_in_every_order(net, -300, 300):
        assert batch == alone


def test_integer_networks_are_exact_and_the_same_in_every_order() -> None:
    for module, arity, lo, hi in ((R.lt10_relu(), 1, -10**6, 10**6), (R.min_network(), 2, -1024, 1023),
                                  (R.is_even_network(20), 1, 0, 2**20 - 1), (R.is_even_network(64), 1, 0, 2**64 - 1),
                                  (R.tent_folds(20), 1, 0, 2**20 - 1)):
        assert same_in_every_order(capture(module, arity), lo, hi), module


def test_weights_that_cancel_are_caught_by_the_bound() -> None:
    big = 2.0**30
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3), nn.Linear(3, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[-1.0], [-1.0]]))
        net[0].bias.copy_(torch.tensor([10.0, 9.0]))
        net[2].weight.copy_(torch.tensor([[1.0, -1.0], [1.0, -1.0], [1.0, -1.0]]))
        net[2].bias.zero_()
        net[3].weight.copy_(torch.tensor([[1.0, big, -big]]))
    described = capture(net, 1)
    assert not same_in_every_order(described, -20, 39)
    v = verify(RIDDLES["lt10_relu"], described)  # the description alone: its exact function is right
    assert not v.exact and v.refused is not None and "order" in v.refused, v.refused


def test_a_sum_of_two_terms_with_power_of_two_weights_is_the_same_in_every_order() -> None:
    # y − 2^62 rounds for large y (float64), but once, the same way in every order
    net = capture(nn.Sequential(nn.Linear(1, 1)).double().requires_grad_(False), 1)
    net.ops[1].weight[:] = 1.0
    net.ops[1].bias[:] = -(2.0**62)
    assert same_in_every_order(net, 0, 2**64 - 1)


@pytest.mark.parametrize("seed", range(8))
def test_the_affine_ranges_hold_every_exact_value(seed: int) -> None:
    gen = torch.Generator().manual_seed(100 + seed)
    net = capture(_random_net(gen, torch.float64, dyadic=seed % 2 == 0, big=0.0), 1)
    pts = np.arange(-200, 201, dtype=np.int64)[:, None]
    values = exact_values(net, pts, keep=tuple(range(len(net.ops))))
    for k, (lo, hi) in enumerate(ranges(net, [-200], [200])):
        got = np.array([float(f) for f in values[k].fractions()]).reshape(len(pts), -1)
        assert np.all(got >= lo - 1e-9) and np.all(got <= hi + 1e-9), (k, net.ops[k])


def test_the_residual_fold_keeps_its_range_where_intervals_triple_it() -> None:
    net = capture(R.is_even_network(32), 1)
    lo, hi = ranges(net, [0], [2**32 - 1])[net.output]
    assert -(2.0**20) <= lo[0] <= 0 and 1 <= hi[0] <= 2.0**20  # intervals: about 3^32 · 2^32


def test_values_past_the_float_range_are_never_exact() -> None:
    net = capture(nn.Sequential(nn.Linear(1, 1)).requires_grad_(False), 1)
    net.ops[1].weight[:] = 2.0**120
    net.ops[1].bias[:] = 0.0
    assert np.isinf(at_points(net, np.array([[300.0]])).err).all()  # 300 · 2^120 > float32's largest


def test_a_saturated_steep_sigmoid_is_not_refused() -> None:
    module = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid())
    with torch.no_grad():
        module[0].weight.fill_(-98765.4321)
        module[0].bias.fill_(938271.60495)
    v = verify(RIDDLES["lt10_sigmoid"], capture(module, 1))
    assert v.exact, v.refused
