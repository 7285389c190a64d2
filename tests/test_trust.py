"""Networks that are wrong when they run must not pass by naming an op, hiding state or
reading the batch size; honest networks written the usual ways still pass.

Each case is built here; each is wrong when PyTorch runs it on some graded input (the test
shows it) and right, or described as right, by what a name or a single call suggests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.fx
from torch import nn

from autograder.core.checker import check_function
from solutions.reference import ResidualFold
from solutions.reference import is_even_network as reference_fold
from solutions.reference import lt10_relu as reference_lt10


def _lt10(tail: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[[], nn.Module]:
    """The reference lt10_relu with `tail(module, x, y)` in place of returning y."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = reference_lt10()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return tail(self, x, self.inner(x))

    return Net


def _refused(factory: Callable[..., nn.Module], riddle: str, *words: str) -> str:
    r = check_function(factory, riddle)
    assert r.status == "fail" and r.score == 0, r.message
    assert r.message.startswith("Refused"), r.message
    for w in words:
        assert w in r.message, r.message
    return r.message


def relu(h: torch.Tensor) -> torch.Tensor:  # a function of the student's own, named like an allowed op
    return h * h if torch.is_grad_enabled() else torch.relu(h)


torch.fx.wrap("relu")


class WrappedRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(1, 2), nn.Linear(2, 1)
        with torch.no_grad():
            self.l1.weight.copy_(torch.tensor([[-1.0], [-1.0]]))
            self.l1.bias.copy_(torch.tensor([10.0, 9.0]))
            self.l2.weight.copy_(torch.tensor([[1.0, -1.0]]))
            self.l2.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(relu(self.l1(x)))


def test_a_function_of_ones_own_is_not_taken_at_its_name() -> None:
    assert float(WrappedRelu()(torch.tensor([[0.0]])).detach()) != 1.0  # wrong when run with grad
    _refused(WrappedRelu, "lt10_relu", "relu() is a function of your own", "line")


def test_a_method_added_to_tensors_under_an_allowed_name_is_refused() -> None:
    torch.Tensor.identity = lambda self: self if not torch.is_grad_enabled() else self * 0 + 7  # type: ignore[attr-defined]
    try:
        _refused(_lt10(lambda m, x, y: y.identity()), "lt10_relu", ".identity() is not a method PyTorch gives")
    finally:
        del torch.Tensor.identity  # type: ignore[attr-defined]


@pytest.mark.parametrize("cast", [lambda t: t.type_as(torch.zeros(1, dtype=torch.int64)),
                                  lambda t: t.to(torch.zeros(1, dtype=torch.int32)),
                                  lambda t: t.long().double()])
def test_a_cast_to_an_integer_type_is_refused_however_it_is_spelled(cast: Callable[[torch.Tensor], torch.Tensor]) -> None:
    big = 2.0**21

    def tail(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        step = cast((x + big - 539390) / big) - cast((x + big - 539391) / big)  # 1 only at x = 539390
        return y + 0.25 * step.to(y.dtype)

    net = _lt10(tail)()
    assert float(net(torch.tensor([[539390.0]])).detach()) == 0.25  # wrong there (the target is 0)
    _refused(_lt10(tail), "lt10_relu", "rounds")


def test_division_with_a_rounding_mode_is_refused() -> None:
    def tail(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y + (x / 4 - torch.div(x, 4, rounding_mode="floor"))

    _refused(_lt10(tail), "lt10_relu", "rounding_mode=")


def test_a_network_that_reads_its_batch_size_is_refused_with_the_place() -> None:
    def tail(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y + (1 - y) * (x.shape[0] == 1)  # right on batches, 1 everywhere on one input

    net = _lt10(tail)()
    assert float(net(torch.tensor([[35.0]])).detach()) == 1.0 and net(torch.tensor([[35.0], [36.0]])).sum() == 0
    _refused(_lt10(tail), "lt10_relu", "batch size", "line")


def test_a_network_that_counts_its_calls_is_refused() -> None:
    def tail(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        m.calls = getattr(m, "calls", 0) + 1
        return y + (1 - y) * (m.calls > 10_000)

    _refused(_lt10(tail), "lt10_relu", "changed the network: attribute 'calls'")


COUNTER = [0]


class GlobalCounter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        COUNTER.append(1)  # a list that grows with every call
        return self.inner(x)


def test_a_network_that_changes_a_global_it_reads_is_refused() -> None:
    _refused(GlobalCounter, "lt10_relu", "the global 'COUNTER'")


def test_a_network_that_depends_on_the_grad_mode_is_refused() -> None:
    def tail(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y + 3.0 * torch.is_grad_enabled()

    assert float(_lt10(tail)()(torch.tensor([[35.0]])).detach()) == 3.0  # a student calls it with grad on
    r = check_function(_lt10(tail), "lt10_relu")
    assert r.status == "fail" and r.score == 0, r.message


C, W, K = 2**31 + 12345, 2**20 + 3, 2.0**33


class CancelledBump(nn.Module):
    """Exactly the reference fold (three second-layer units cancel), but in float64 the
    cancelled triangle rounds (h·2³³ + 1) − h·2³³ to 0 near C, so the run is off by one there."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.fold = ResidualFold(n).double()
        self.bump = nn.Linear(1, 3, dtype=torch.float64)
        with torch.no_grad():
            self.bump.weight.fill_(1.0)
            self.bump.bias.copy_(torch.tensor([-(C - W), -C, -(C + W)], dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.relu(self.bump(torch.relu(x)))
        h = (u[:, 0:1] - 2 * u[:, 1:2] + u[:, 2:3]) * K
        return self.fold(x) + ((h + 1) - h) - 1


def test_the_kinks_of_cancelled_units_are_swept_at_the_huge_sizes() -> None:
    run = CancelledBump(32)(torch.tensor([[float(C)]], dtype=torch.float64)).detach()
    assert float(run) != C % 2  # the network that runs is wrong at C
    r = check_function(lambda n: CancelledBump(n) if n == 32 else reference_fold(n), "is_even_network")
    assert r.status == "fail" and "n = 32" in r.message, r.message


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_compiled_and_scripted_modules_are_refused_in_words() -> None:
    _refused(lambda: torch.jit.script(reference_lt10()), "lt10_relu", "scripted (torch.jit)")


def test_honest_networks_with_inplace_relu_and_constants_made_in_forward_still_pass() -> None:
    def tail(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y * torch.tensor([1.0]) + torch.zeros(1)

    assert check_function(_lt10(tail), "lt10_relu").status == "pass"
    seq = lambda: nn.Sequential(nn.Linear(1, 2), nn.ReLU(inplace=True), nn.Linear(2, 1))  # noqa: E731

    def lt10_relu() -> nn.Module:
        net = seq()
        with torch.no_grad():
            net[0].weight.copy_(torch.tensor([[-1.0], [-1.0]]))
            net[0].bias.copy_(torch.tensor([10.0, 9.0]))
            net[2].weight.copy_(torch.tensor([[1.0, -1.0]]))
            net[2].bias.zero_()
        return net

    assert check_function(lt10_relu, "lt10_relu").status == "pass"


@pytest.mark.parametrize("spelling", [lambda h, w: (h * w).sum(1), lambda h, w: (h * w).sum(-1),
                                      lambda h, w: (h * w).sum(dim=1, keepdim=True).squeeze(1),
                                      lambda h, w: torch.sum(h * w, 1)])
def test_a_sum_over_the_last_axis_is_affine_glue(spelling: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    class Summed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 2)
            with torch.no_grad():
                self.lin.weight.copy_(torch.tensor([[-1.0], [-1.0]]))
                self.lin.bias.copy_(torch.tensor([10.0, 9.0]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return spelling(torch.relu(self.lin(x)), torch.tensor([1.0, -1.0]))

    r = check_function(Summed, "lt10_relu")
    assert r.status == "pass" and r.neurons == 2, r.message
    wrong = lambda: _lt10(lambda m, x, y: torch.cat([y, y], 1).sum(1) - 1)()  # noqa: E731 - 2y - 1
    assert check_function(wrong, "lt10_relu").status == "fail"
    _refused(lambda: _lt10(lambda m, x, y: y.sum(0, keepdim=True).expand_as(y))(), "lt10_relu")


CALLS = {"n": 0}


def _tick() -> int:
    CALLS["n"] += 1
    return CALLS["n"]


class CountsOnItsClass(nn.Module):
    calls = 0

    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        type(self).calls += 1
        y = self.inner(x)
        return y + (1 - y) * (type(self).calls > 10_000)


class CountsThroughAHelper(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x)
        return y + (1 - y) * (_tick() == 10_000)


def _counts_in_a_closure() -> nn.Module:
    count = [0]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = reference_lt10()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            count[0] += 1
            y = self.inner(x)
            return y + (1 - y) * (count[0] > 10_000)

    return Net()


@pytest.mark.parametrize(("factory", "where"), [(CountsOnItsClass, "the class attribute CountsOnItsClass.calls"),
                                                (CountsThroughAHelper, "the global 'CALLS'"),
                                                (_counts_in_a_closure, "closure 'count'")])
def test_state_kept_outside_the_module_is_refused_too(factory: Callable[[], nn.Module], where: str) -> None:
    _refused(factory, "lt10_relu", "running the network changed", where)


class WithConstants(nn.Module):
    SHIFT = 10.0  # a class constant, read and never changed

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 2)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([[-1.0], [-1.0]]))
            self.lin.bias.copy_(torch.tensor([0.0, -1.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _relu_of(self.lin(x + self.SHIFT) + 2 * self.SHIFT)
        return (h[:, 0:1] - h[:, 1:2]) * CALLS_SCALE[0]


CALLS_SCALE = [1.0]


def _relu_of(h: torch.Tensor) -> torch.Tensor:
    return torch.relu(h)


def test_constants_helpers_and_globals_that_never_change_still_pass() -> None:
    r = check_function(WithConstants, "lt10_relu")
    assert r.status == "pass" and r.neurons == 2, r.message


class SpikeOnOneInput(nn.Module):
    """lt10_relu on every batch of several rows; called on x = 5 alone it outputs 2, because
    `squeeze` then removes the batch axis and the axes after it shift.  No size is read."""

    def __init__(self, tail: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.tail = tail
        self.l1, self.l2 = nn.Linear(1, 5), nn.Linear(5, 4)
        with torch.no_grad():  # y = ReLU(10 − x) − ReLU(9 − x); hat(x) = 1 only at x = 5
            self.l1.weight.copy_(torch.tensor([[-1.0], [-1.0], [1.0], [1.0], [1.0]]))
            self.l1.bias.copy_(torch.tensor([10.0, 9.0, -4.0, -5.0, -6.0]))
            self.l2.weight.copy_(torch.tensor([[1.0, -1.0, 0, 0, 0], [0, 0, 0, 0, 0],
                                               [0, 0, 1.0, -2.0, 1.0], [0, 0, 0, 0, 0]]))
            self.l2.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.l2(torch.relu(self.l1(x))).unflatten(1, (1, 2, 2)))  # [[y, 0], [hat, 0]]


@pytest.mark.parametrize("tail", [
    lambda m: m.squeeze(0).select(2, 0).sum(-1),  # several rows: y + 0; one row: y + hat
    lambda m: m.squeeze().select(1, 0).sum(-1),  # the same with squeeze() of every axis of size 1
    lambda m: torch.squeeze(m, (0, 1)).select(1, 0).sum(-1),
])
def test_a_squeeze_that_can_drop_the_batch_axis_is_refused_before_the_last_step(
        tail: Callable[[torch.Tensor], torch.Tensor]) -> None:
    net = SpikeOnOneInput(tail)
    xs = torch.arange(-20, 40, dtype=torch.float32)[:, None]
    with torch.no_grad():
        assert float(net(xs)[25]) == 1.0 and float(net(xs[25:26]).reshape(())) == 2.0  # wrong at x = 5 alone
    _refused(lambda: SpikeOnOneInput(tail), "lt10_relu", "BadShape", "squeeze")


def test_squeeze_as_the_last_step_and_squeeze_of_a_named_axis_still_pass() -> None:
    for tail in (lambda h: h.squeeze(), lambda h: h.squeeze(1).unsqueeze(1), lambda h: h.squeeze(-1)):
        r = check_function(_lt10(lambda _m, _x, y, tail=tail: tail(y)), "lt10_relu")
        assert r.status == "pass" and r.score == 3, r.message


class BatchSizeAsAxes(nn.Module):
    """lt10_relu on every batch of several rows, turned into axes by the batch size: on a single
    input the per-example matrix [[a, b], [b + hat, 0]] is read by column, and x = 5 gives 0."""

    def __init__(self, rearrange: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
        super().__init__()
        self.rearrange = rearrange
        self.l1, self.l2, self.l3 = nn.Linear(1, 5), nn.Linear(5, 4), nn.Linear(2, 1)
        with torch.no_grad():  # a = ReLU(10 − x), b = ReLU(9 − x), hat(x) = 1 only at x = 5
            self.l1.weight.copy_(torch.tensor([[-1.0], [-1.0], [1.0], [1.0], [1.0]]))
            self.l1.bias.copy_(torch.tensor([10.0, 9.0, -4.0, -5.0, -6.0]))
            self.l2.weight.copy_(torch.tensor([[1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0],
                                               [0, 1.0, 1.0, -2.0, 1.0], [0, 0, 0, 0, 0]]))
            self.l2.bias.zero_()
            self.l3.weight.copy_(torch.tensor([[1.0, -1.0]]))
            self.l3.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(0)
        t = self.rearrange(self.l2(torch.relu(self.l1(x))).reshape(n, 2, 2), 1 // n)  # k = 1 only alone
        return self.l3(t[:, 0])


@pytest.mark.parametrize("rearrange", [
    lambda t, k: t.permute(2 * k, 1, 2 - 2 * k).reshape(-1, 2, 2),  # the identity on a batch; a transpose alone
    lambda t, k: t.squeeze(1 - k),  # squeeze(1), a no-op, on a batch; squeeze(0) alone
])
def test_a_batch_size_turned_into_axes_is_refused(rearrange: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    net = BatchSizeAsAxes(rearrange)
    xs = torch.arange(-20, 40, dtype=torch.float32)[:, None]
    with torch.no_grad():
        assert float(net(xs)[25]) == 1.0 and float(net(xs[25:26]).reshape(())) == 0.0  # wrong at x = 5 alone
    _refused(lambda: BatchSizeAsAxes(rearrange), "lt10_relu", "HiddenBehaviour")


# ---- how a student calls it: alone, unbatched, in inference mode, in another float type -------------
def cancelling_sequential() -> nn.Module:
    """Exact function: the reference lt10_relu. Its last layer adds K·h − K·h with K = 2^30: the
    matrix product rounds differently for one row than for a large batch (another summation order)."""
    big = 2.0**30
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 5), nn.Linear(5, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[-1.0], [-1.0]]))
        net[0].bias.copy_(torch.tensor([10.0, 9.0]))
        net[2].weight.copy_(torch.tensor([[0.5, -0.5], [0.25, -0.25], [1.0, -1.0], [0.25, -0.25], [1.0, -1.0]]))
        net[2].bias.zero_()
        net[3].weight.copy_(torch.tensor([[1.0, 1.0, big, 1.0, -big]]))
    return net


def test_a_network_wrong_on_a_single_input_but_right_in_batches_is_refused() -> None:
    net = cancelling_sequential()
    with torch.no_grad():
        batch = net(torch.arange(-20.0, 40.0).unsqueeze(1)).flatten()
        alone = [float(net(torch.tensor([[float(v)]]))) for v in range(-20, 40)]
    want = [1.0 if v < 10 else 0.0 for v in range(-20, 40)]
    if batch.tolist() != want or alone == want:
        pytest.skip("this machine's matrix product sums one row in the same order as a batch")
    _refused(cancelling_sequential, "lt10_relu", "alone", "rounding")


def _flip_under_inference(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    flip = float(torch.is_inference_mode_enabled())
    return y * (1 - 2 * flip) + flip


class FlipsUnbatched(nn.Module):
    """The reference lt10_relu with its two units swapped by flip(1) after an unsqueeze(1): a no-op
    on a batch (B, 1, 2), a swap for an unbatched input of shape (1,) (net(torch.tensor([9.])))."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inner[1](self.inner[0](x.unsqueeze(1)))
        return self.inner[2](h.flip(1)).flatten(1)


def test_a_network_that_differs_when_called_without_the_batch_axis_is_refused() -> None:
    with torch.no_grad():
        assert float(FlipsUnbatched()(torch.tensor([9.0]))) != 1.0
    _refused(FlipsUnbatched, "lt10_relu", "HiddenBehaviour")


def test_a_network_that_reads_the_inference_mode_is_refused() -> None:
    _refused(_lt10(_flip_under_inference), "lt10_relu", "HiddenBehaviour")


class NoWeights(nn.Module):
    """lt10 without weights: relu(1 − relu((x − c)·2^31)) with c = 9 − 2^-30 computes in its
    input's float type: right in float32 (c rounds to 9), and wrong at x = 9 in float64."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(1 - torch.relu((x - (9 - 2.0**-30)) * 2.0**31))


def test_a_network_without_weights_is_swept_in_both_float_types() -> None:
    with torch.no_grad():
        assert float(NoWeights()(torch.tensor([[9.0]], dtype=torch.float64))) == 0.0  # wrong
    r = check_function(NoWeights, "lt10_relu")
    assert r.status == "fail" and r.score == 0, r.message
    assert "also runs on float64 inputs" in r.message, r.message


class CountsInAnArray(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()
        self.calls = __import__("numpy").zeros(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1  # in place: the same array object
        return self.inner(x) + 5.0 * float(self.calls[0] > 1000)


class CountsWithAnIterator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()
        self.ticks = __import__("itertools").count()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) + 5.0 * float(next(self.ticks) > 1000)


class CountsOnTorch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()
        torch._riddle_test_calls = 0  # type: ignore[attr-defined]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._riddle_test_calls += 1  # type: ignore[attr-defined]
        return self.inner(x) + 5.0 * float(torch._riddle_test_calls > 1000)  # type: ignore[attr-defined]


@pytest.mark.parametrize("factory", [CountsInAnArray, CountsWithAnIterator, CountsOnTorch])
def test_a_counter_in_an_array_an_iterator_or_a_module_is_refused(factory: Callable[[], nn.Module]) -> None:
    _refused(factory, "lt10_relu", "HiddenBehaviour", "changed")


class BumpBehindTheFolds(nn.Module):
    """The reference fold, then a bump at A = 3,000,000,001 (odd) that cancels exactly:
    (K·b + 1) − K·b − 1 with K = 2^60, read through v = relu(x + 1) − 1 rather than x, and placed
    after the folds, where the search for breakpoints gives up.  Exact function: the fold; the
    float64 run outputs 0 at A, which no chosen input of the sweep is near."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.fold = ResidualFold(n).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fold(x)
        v = torch.relu(x + 1) - 1
        a = 3_000_000_001
        b = torch.relu(v - (a - 1)) - 2 * torch.relu(v - a) + torch.relu(v - (a + 1))
        p = 2.0**60 * b
        return y + ((p + 1) - p - 1)


def test_a_huge_domain_needs_a_proof_that_its_float_pass_is_right_where_it_is_not_run() -> None:
    with torch.no_grad():
        assert float(BumpBehindTheFolds(32)(torch.tensor([[3_000_000_001.0]], dtype=torch.float64))) == 0.0
    r = check_function(lambda n: BumpBehindTheFolds(n) if n == 32 else reference_fold(n), "is_even_network")
    assert r.status == "fail" and r.score == 0, r.message
    assert "cannot prove" in r.message and "n = 32" in r.message, r.message


def _rare_jump(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return y + 1000 * (torch.rand(1) < 1e-9).to(y.dtype)  # torch.fx keeps one draw as a constant


def _dropout(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.dropout(y, 1e-9)


@pytest.mark.parametrize("tail", [_rare_jump, _dropout], ids=["torch.rand", "dropout"])
def test_a_network_that_draws_random_numbers_is_refused(
        tail: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    _refused(_lt10(tail), "lt10_relu", "ForbiddenOperation", "random")


class RoundsInAWindow(nn.Module):
    """The float64 fold of ((x + c1) − c1) − ((x + c2) − c2) + x, which is x exactly: x + c1 rounds
    odd x from `start` on (the sum reaches 2^53), x + c2 from start + 2^30, where the two cancel
    again, so the run is wrong on the odd inputs of that window, far from any power of two."""

    def __init__(self, n: int, start: int) -> None:
        super().__init__()
        self.fold = ResidualFold(n).double()
        self.c1, self.c2 = float(2**53 - start), float(2**53 - start - 2**30)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fold(((x + self.c1) - self.c1) - ((x + self.c2) - self.c2) + x)


@pytest.mark.parametrize(("start", "refused"), [(5 * 2**49 + 12345 * 2**20, True),
                                                (3 * 2**51 + 12345 * 2**29, False)])
def test_a_huge_domain_is_proven_right_up_to_2_to_the_52_and_says_where_it_could_not_be(start: int,
                                                                                        refused: bool) -> None:
    x = start + 1
    with torch.no_grad():
        assert float(RoundsInAWindow(64, start)(torch.tensor([[float(x)]], dtype=torch.float64))) == 0.0  # x odd
    r = check_function(lambda n: RoundsInAWindow(n, start) if n == 64 else reference_fold(n), "is_even_network")
    if refused:  # below 2^52 the proof is required
        assert r.status == "fail" and r.score == 0 and "cannot prove" in r.message and "n = 64" in r.message, r.message
    else:  # in (2^52, 2^53) the proof is tried; the verdict says that it could not be made there
        assert "proof could not be made" in r.message, r.message


class CountsDeepDown(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()
        self.box: list = [0]
        for _ in range(10):
            self.box = [self.box]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cell = self.box
        while isinstance(cell[0], list):
            cell = cell[0]
        cell[0] += 1
        return self.inner(x) + 5.0 * float(cell[0] > 1000)


class CountsThroughData(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = reference_lt10()
        self.calls = torch.zeros(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.data += 1  # no version bump
        return self.inner(x) + 5.0 * float(self.calls[0] > 1000)


def _draws_without_grad(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return y if torch.is_grad_enabled() else y + 1000 * (torch.rand_like(y) < 1e-9).to(y.dtype)


def _draws_from_python(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    import random

    return y + (1000.0 if random.random() < 1e-12 else 0.0)


@pytest.mark.parametrize(("factory", "words"), [(CountsDeepDown, "changed"), (CountsThroughData, "changed"),
                                                (_lt10(_draws_without_grad), "random"),
                                                (_lt10(_draws_from_python), "random")])
def test_state_deep_down_or_written_through_data_and_random_draws_are_refused(factory: Callable[[], nn.Module],
                                                                               words: str) -> None:
    _refused(factory, "lt10_relu", "HiddenBehaviour", words)
