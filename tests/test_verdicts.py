"""Do the references pass, do flawed networks fail for the right reason, and is 'exact' exact?"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autograder import check_function
from autograder.core.capture import capture
from autograder.core.normal import normal_form
from autograder.core.riddles import IS_EVEN_NETWORK, IS_EVEN_NS, RIDDLES, at_size, is_even_bound
from autograder.core.verify import verify
from solutions import reference as R
from solutions.article import ARTICLE
from solutions.flawed import FLAWED, Lambda

REFERENCES = [
    (R.lt10_sigmoid, "lt10_sigmoid", 1), (R.lt10_relu, "lt10_relu", 2),
    (R.min_network, "min_network", 1), (R.min_network_sequential, "min_network", 2),
    (R.min_network_everywhere, "min_network", 3), (R.is_even_16, "is_even_16", 8),
    (R.is_even_16_residual, "is_even_16", 4), (R.is_even_16_zigzag, "is_even_16", 7),
    (R.is_even_network, "is_even_network", 64), (R.is_even_network_sequential, "is_even_network", 128),
]


@pytest.mark.parametrize(("fn", "rid", "neurons"), REFERENCES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_reference_passes_with_its_neuron_count(fn, rid, neurons) -> None:  # type: ignore[no-untyped-def]
    r = check_function(fn, rid)
    assert r.status == "pass", r.message
    assert r.exact is True
    assert r.neurons == neurons
    assert r.score > 0


def test_no_reference_beats_a_stated_lower_bound() -> None:
    for fn, rid, _ in REFERENCES:
        for v in check_function(fn, rid).verdicts:
            assert v.neurons >= v.riddle.lower_bound, (fn.__name__, v.riddle.n)


def test_residual_parity_is_optimal_at_every_n() -> None:
    r = check_function(R.is_even_network)
    assert [v.neurons for v in r.verdicts] == [is_even_bound(n) for n in IS_EVEN_NS]
    assert r.score == r.max_score


@pytest.mark.parametrize(("fn", "rid", "status", "phrase"), FLAWED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_flawed_family_fails_with_the_right_reason(fn, rid, status, phrase) -> None:  # type: ignore[no-untyped-def]
    r = check_function(fn, rid)
    assert r.status == status
    assert r.score == 0
    assert phrase in r.message


@pytest.mark.parametrize(("fn", "rid", "status", "neurons", "why"), ARTICLE, ids=lambda v: getattr(v, "__name__", str(v)))
def test_the_articles_constructions_earn_the_stated_verdicts(fn, rid, status, neurons, why) -> None:  # type: ignore[no-untyped-def]
    r = check_function(fn, rid)
    assert (r.status, r.neurons) == (status, neurons), r.message


def test_does_a_rounding_trick_fail_even_though_its_float_outputs_are_right() -> None:
    from solutions.flawed import rounding_parity

    module = rounding_parity()
    xs = torch.arange(16, dtype=torch.float32)[:, None]
    assert torch.equal(module(xs).reshape(-1), xs.reshape(-1) % 2)  # float32 looks perfect
    r = check_function(rounding_parity, "is_even_16")
    assert r.status == "fail" and "rounding" in r.message
    assert r.verdicts[0].float_agrees is False


def test_is_a_right_network_never_failed_by_float_noise() -> None:
    """Weights 0.1 and 10 give float32 noise, but the real function is exactly min(a, b)."""
    class Scaled(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :1] - torch.relu((x[:, :1] - x[:, 1:]) * 0.1 * 10) + 0 * x[:, :1]

    class Div(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :1] - torch.relu(x[:, :1] / 3 - x[:, 1:] / 3) * 3

    # 0.1 * 10 is not 1 in binary, so Scaled is (rightly) not exact; x/3*3 is exact
    assert check_function(lambda: Scaled(), "min_network").status == "fail"
    assert check_function(lambda: Div(), "min_network").status == "pass"


def test_large_domains_catch_what_the_public_one_misses() -> None:
    class Clipped(nn.Module):  # ReLU(b + 100) − 100 − ReLU(b − a): exact only for b >= −100
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = x[:, 0:1], x[:, 1:2]
            return torch.relu(b + 100) - 100 - torch.relu(b - a)

    r = check_function(lambda: Clipped(), "min_network")
    assert r.status == "fail"
    assert r.verdicts[0].checked[-1].startswith("integer pairs in [-1024")
    assert all(c.input[1] < -100 for c in r.counterexamples)


@pytest.mark.parametrize("spelling", [
    lambda h: torch.relu(h), lambda h: nn.functional.relu(h), lambda h: h.relu(),
    lambda h: h.clamp(min=0), lambda h: torch.clamp(h, min=0), lambda h: h.clamp_min(0),
])
def test_every_spelling_of_relu_is_accepted(spelling) -> None:  # type: ignore[no-untyped-def]
    lin = nn.Linear(1, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-1.0], [-1.0]]))
        lin.bias.copy_(torch.tensor([10.0, 9.0]))

    class Spelled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = lin

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (spelling(self.lin(x)) @ torch.tensor([1.0, -1.0])).unsqueeze(1)

    def lt10_relu() -> nn.Module:
        return Spelled()

    r = check_function(lt10_relu)
    assert r.status == "pass", r.message
    assert r.neurons == 2


def test_glue_ops_cat_slices_reshapes_and_float64_are_captured() -> None:
    class Glue(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = x.unbind(1)
            pair = torch.stack([a, b], dim=1).reshape(x.shape[0], 2)
            h = torch.relu((pair[:, :1] - pair[:, 1:]) / 2) * 2
            return (pair[:, 0] - h.flatten()).view(-1, 1)

    r = check_function(lambda: Glue().double(), "min_network")
    assert r.status == "pass", r.message
    assert r.neurons == 1


def test_min_with_a_skip_connection_and_clamp_offset() -> None:
    net = Lambda(lambda x: x[:, 1:] + (x[:, :1] - x[:, 1:]).clamp(min=3) - 3)
    description = capture(net, 2)
    assert description.neurons() == 1
    # b + max(a - b, 3) - 3 is not min(a, b)
    assert verify(RIDDLES["min_network"], description).exact is False


def test_a_product_of_constants_is_folded_and_allowed() -> None:
    class Folded(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.tensor(2.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x * (self.w * self.w) - 40) * 0 + torch.relu(10 - x) - torch.relu(9 - x)

    r = check_function(lambda: Folded(), "lt10_relu")
    assert r.status == "pass", r.message
    assert r.neurons == 3


def test_line_analysis_agrees_with_enumeration_on_random_networks() -> None:
    """The exact line method and brute-force enumeration must agree (seeded random nets)."""
    from autograder.core.line import verify_line

    gen = torch.Generator().manual_seed(0)
    verdicts = []
    for trial in range(60):
        width = [1, 2, 3][trial % 3]
        layers: list[nn.Module] = []
        d_in = 1
        for _ in range(1 + trial % 3):
            lin = nn.Linear(d_in, width)
            with torch.no_grad():
                lin.weight.copy_(torch.randint(-3, 4, lin.weight.shape, generator=gen).float())
                lin.bias.copy_(torch.randint(-8, 9, lin.bias.shape, generator=gen).float() / 2)
            layers += [lin, nn.ReLU()]
            d_in = width
        layers.append(nn.Linear(d_in, 1))
        with torch.no_grad():
            layers[-1].weight.copy_(torch.randint(-2, 3, layers[-1].weight.shape, generator=gen).float())
            layers[-1].bias.zero_()
        nets = [nn.Sequential(*layers)]
        # a tent-fold network, sometimes with one weight nudged: right about half the time
        folds = R.tent_folds(3)
        if trial % 2:
            lin = [m for m in folds if isinstance(m, nn.Linear)][trial % 4]
            with torch.no_grad():
                lin.bias[0] += 0.5
        nets.append(folds)
        for module in nets:
            verdicts.append(_agree(capture(module, 1), trial))
    # and a network that is right: the residual fold at n = 3
    assert not verify_line(normal_form(capture(R.ResidualFold(3), 1)), [(0, 7, 0, 1)])[0]
    # the comparison means something only if both verdicts occurred
    assert len(verdicts) == 120 and any(verdicts) and not all(verdicts)


def _agree(net, trial: int) -> bool:  # type: ignore[no-untyped-def]
    """Enumeration and line analysis agree on parity over 0..7; returns the verdict."""
    from autograder.core.line import verify_line
    from autograder.core.riddles import Domain
    from autograder.core.verify import Verdict, _enumerate

    inst = at_size(IS_EVEN_NETWORK, 3)
    v = Verdict(inst, False, 0)
    _enumerate(inst, net, Domain("t", 0, 7), v)
    failures, _ = verify_line(normal_form(net), [(0, 7, 0, 1)])
    assert (v.wrong == 0) == (not failures), trial
    return v.wrong == 0


def test_a_network_that_keeps_the_raw_input_fails_closed_at_large_n() -> None:
    """fold(x) + 2^-70·x reads x at the end with a weight that does not cancel: the line method
    cannot merge, and must fail closed, naming what keeps the input, rather than pass."""
    class KeepsInput(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fold = R.ResidualFold(64).double()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fold(x) + x * 2.0**-70

    from autograder.core.verify import verify as verify_fn

    net = capture(KeepsInput(), 1, [[float(i)] for i in range(8)])
    v = verify_fn(at_size(IS_EVEN_NETWORK, 64), net)
    assert v.exact is False
    assert "fail closed" in v.refused and "raw input is still read by the output" in v.refused


@pytest.mark.parametrize(("factory", "neurons"), [
    (lambda: nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1)), 3),
    (lambda: nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1), nn.ReLU()), 6),
    (lambda: nn.Sequential(nn.Linear(1, 1), nn.Sigmoid()), 1),
    (lambda: nn.Linear(1, 1), 0),
    (lambda: R.ResidualFold(5), 5),
    (lambda: Lambda(lambda x: torch.relu(torch.cat([x, -x, x - 1], dim=1))[:, :1]), 3),
])
def test_neuron_count_of_a_table_of_networks(factory, neurons) -> None:  # type: ignore[no-untyped-def]
    assert capture(factory(), 1).neurons() == neurons


def test_broadcasting_across_the_batch_is_refused() -> None:
    from autograder.core.capture import CaptureError

    bad = Lambda(lambda x: x[:, 0] - torch.relu(x[:, 0:1] - x[:, 1:2]))  # (B,) - (B,1) -> (B,B)
    with pytest.raises(CaptureError, match="broadcasts across the batch"):
        capture(bad, 2)
