"""Is the verdict about the network that runs?  No wrong network passes, no right one fails.

Each class of failure gets a wrong network that must fail (with a message that says why) and a
right one that must pass, through `check()` in this process; the notebook tests at the end send
the same networks through `riddles check --json` (a real sandboxed child process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder import check
from autograder.core.result import RiddleResult
from solutions import reference as R

from .conftest import make_notebook, riddles_cli


def checked(fn, riddle: str) -> RiddleResult:  # type: ignore[no-untyped-def]
    """Through the notebook's own `check` (the student's front end), figure off."""
    result = check(fn, riddle, plot=False)
    assert result is not None
    return result


def lt10(x: torch.Tensor) -> torch.Tensor:
    return F.relu(10 - x) - F.relu(9 - x)


class Float64(nn.Module):
    """A module whose parameters are float64, so torch computes in float64."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("marker", torch.zeros(1, dtype=torch.float64))


# ---- 1. constants in the precision torch uses ------------------------------------------------
class HingeFarLeft(Float64):
    """Right in float32 terms (3000.000001 rounds to 3000, the hinges cancel), wrong in float64:
    -1e-6 for every x <= -3001."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lt10(x) + (F.relu(-x - 3000.000001) - F.relu(-x - 3000))


class FoldOffByHalf(Float64):
    """Residual parity folds whose fold points are 2^k + 0.5 above 2^23: float32 rounds the
    constant to 2^k (right), float64 keeps it (wrong for n > 24)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for k in range(self.n - 1, -1, -1):
            y = y - 2 * F.relu(y - (2.0**k + (0.5 if k > 23 else 0.0)))
        return y


class ExactFloat64Constants(Float64):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(10.0 - x) - F.relu(x * 0.5 * 2 * -1 + 9)


def test_are_constants_captured_in_the_precision_torch_computes_with() -> None:
    r = checked(lambda: HingeFarLeft(), "lt10_relu")
    assert r.status == "fail" and r.score == 0
    assert all(c.input[0] <= -3001 for c in r.counterexamples)
    assert "0.999999" in r.message  # the exact output, not a rounded "1"
    fold = checked(lambda n: FoldOffByHalf(n), "is_even_network")
    assert fold.status == "fail" and fold.main is not None and fold.main.riddle.n == 32
    assert checked(lambda: ExactFloat64Constants(), "lt10_relu").status == "pass"
    # the same fold with honest constants is right in float64 at every n
    assert checked(lambda n: R.ResidualFold(n).double(), "is_even_network").status == "pass"


# ---- 2. in-place ops ---------------------------------------------------------------------------
class ClampInPlaceMin(nn.Module):
    """v.clamp_(min=0) changes v; reading v afterwards reads relu(b + 600): wrong for b < -600."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x[:, :1], x[:, 1:]
        v = b + 600
        v.clamp_(min=0)
        return v - 600 - torch.relu(b - a)


class ViewUpdatedMin(nn.Module):
    """`w -= 1000` on a view of v: traced as a new value, run in place on v."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x[:, :1], x[:, 1:]
        v = b + 0
        w = v[:, :1]
        w -= 0.5
        return v - torch.relu(b - a)


class HonestInPlace(nn.Module):
    """In-place ops whose input is never read again: the common, honest spellings."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Sequential(nn.Linear(1, 2), nn.ReLU(inplace=True))
        with torch.no_grad():
            self.first[0].weight.copy_(torch.tensor([[-1.0], [-1.0]]))
            self.first[0].bias.copy_(torch.tensor([10.0, 9.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.first(x)
        h = h.relu_()
        h = F.relu(h, inplace=True)
        return h[:, :1] - h[:, 1:]


def test_does_an_in_place_change_read_again_fail_while_honest_in_place_passes() -> None:
    r = checked(lambda: ClampInPlaceMin(), "min_network")
    assert r.status == "fail" and "InPlaceMutation" in r.message and "line" in r.message
    r = checked(lambda: ViewUpdatedMin(), "min_network")
    assert r.status == "fail" and "InPlaceMutation" in r.message
    assert checked(lambda: HonestInPlace(), "lt10_relu").status == "pass"


# ---- 3. what is traced is what runs --------------------------------------------------------------
class TracingBranch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.fx._symbolic_trace.is_fx_tracing():
            return lt10(x)
        return lt10(x) + F.relu(x - 500)


class Hooked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lt10(x) + 0 * self.lin(x)


class OwnCall(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lt10(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return super().__call__(x) + (x > 1000).float()


class CountsCalls(nn.Module):
    """State that changes between calls: the second call (the real run) differs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return lt10(x) + (F.relu(x - 500) if self.calls > 1 else 0 * x)


def test_does_a_forward_that_runs_differently_from_its_trace_fail() -> None:
    for make in (lambda: TracingBranch(), lambda: OwnCall(), lambda: CountsCalls()):
        r = checked(make, "lt10_relu")
        assert r.status == "fail" and r.score == 0 and "HiddenBehaviour" in r.message, r.message

    def with_hook() -> nn.Module:
        m = Hooked()
        m.lin.register_forward_hook(lambda mod, inp, out: out + 1)
        return m

    r = checked(with_hook, "lt10_relu")
    assert r.status == "fail" and "hook" in r.message
    handle = torch.nn.modules.module.register_module_forward_hook(lambda mod, inp, out: out)
    try:
        r = checked(lambda: Hooked(), "lt10_relu")
        assert r.status == "fail" and "global module hook" in r.message
    finally:
        handle.remove()
    assert checked(lambda: Hooked(), "lt10_relu").status == "pass"


# ---- 4. float behaviour when it runs -------------------------------------------------------------
class AbsorbedByLargeAdd(nn.Module):
    """(f + 3e8) - 3e8 in float32: the real function is right, the float32 run gives 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (lt10(x) + 3e8) - 3e8


class HalfDetour(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lt10(x).to(torch.bfloat16).to(torch.float32)


class ParityAbsorbed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fold = R.ResidualFold(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.fold(x) + 3e8) - 3e8


class NoisyButRight(nn.Module):
    """Weights that are not dyadic give float noise (0.99999994 for 1) but the right classes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x[:, :1], x[:, 1:]
        return a - torch.relu(a / 3 - b / 3) * 3


def test_does_a_network_need_its_own_forward_pass_to_be_right_too() -> None:
    r = checked(lambda: AbsorbedByLargeAdd(), "lt10_relu")
    assert r.status == "fail" and "own float32 forward pass" in r.message
    assert r.counterexamples and r.counterexamples[0].got == 0.0
    r = checked(lambda: ParityAbsorbed(), "is_even_16")
    assert r.status == "fail" and "forward pass" in r.message
    r = checked(lambda: HalfDetour(), "lt10_relu")
    assert r.status == "fail" and "NarrowFloat" in r.message
    r = checked(lambda: R.lt10_relu().to(torch.float16), "lt10_relu")
    assert r.status == "fail" and "NarrowFloat" in r.message and "float16" in r.message
    assert checked(lambda: NoisyButRight(), "min_network").status == "pass"


def test_does_the_verdict_say_where_the_forward_pass_could_not_run() -> None:
    r = checked(R.is_even_network, "is_even_network")
    assert r.status == "pass"
    notes = [n for v in r.verdicts for n in v.notes]
    assert any(n.startswith("n = 64") and "2^53" in n for n in notes)
    r32 = checked(lambda n: R.ResidualFold(n) if n > 1 else nn.Identity(), "is_even_network")
    assert r32.status == "pass"
    assert any(n.startswith("n = 32") and "2^24" in n for v in r32.verdicts for n in v.notes)
    assert "2^24" in r32.message  # the pass message keeps the per-n notes


# ---- 5. right networks the analysis must not refuse ----------------------------------------------
class FoldPlusCancelledInput(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.fold = R.ResidualFold(n).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fold(x) + x - x


class StreamKeepsInput(Float64):
    """The residual stream carries [y, x]; x is subtracted out only at the very end."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stream = torch.cat([x, x], dim=1)
        for k in range(self.n - 1, -1, -1):
            y = stream[:, :1]
            stream = stream - 2 * torch.cat([F.relu(y - 2.0**k), 0 * y], dim=1)
        return stream[:, :1] + stream[:, 1:] - x


class DeadWideLayer(nn.Module):
    """A 1,000-wide ReLU layer nobody reads, next to the right answer."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.fold = R.ResidualFold(n).double()
        self.wide = nn.Linear(1, 1000).double()
        self.read = nn.Linear(1000, 1).double()
        with torch.no_grad():
            self.read.weight.zero_()
            self.read.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fold(x) + self.read(torch.relu(self.wide(x)))


class ReadsInputToTheEnd(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.fold = R.ResidualFold(n).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fold(x) + x * 2.0**-70


def test_do_right_networks_that_carry_the_input_pass_at_every_n() -> None:
    for make in (lambda n: FoldPlusCancelledInput(n), lambda n: StreamKeepsInput(n)):
        r = checked(make, "is_even_network")
        assert r.status == "pass", r.message
        assert [v.neurons for v in r.verdicts][-1] == 64


def test_is_a_dead_wide_layer_cheap_and_counted() -> None:
    r = checked(lambda: DeadWideLayer(4), "is_even_16")
    assert r.status == "pass" and r.neurons == 4 + 1000


def test_does_a_network_that_cannot_be_analysed_fail_closed_and_say_why() -> None:
    r = checked(lambda n: ReadsInputToTheEnd(n), "is_even_network")
    assert r.status == "fail" and r.score == 0
    assert "not counted as exact" in r.message or "Not exact" in r.message
    v = r.main
    assert v is not None and v.riddle.n is not None
    if v.refused:
        assert "raw input is still read by the output" in v.refused


# ---- 6. arithmetic far beyond 64 bits ------------------------------------------------------------
class TinyWeights(Float64):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lt10(x) + F.relu(x * 2.0**-80 - 2.0**-90) * 2.0**-80


class HugeButRight(Float64):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (F.relu(x * 2.0**-60 - 10 * 2.0**-60) - F.relu(x * 2.0**-60 - 9 * 2.0**-60)) * 2.0**60 + 1


def test_do_huge_denominators_give_a_verdict_not_an_overflow() -> None:
    r = checked(lambda: TinyWeights(), "lt10_relu")
    assert r.status == "fail" and r.counterexamples
    assert "+" in r.message  # 0 + 2^-160-ish, not "0"
    assert checked(lambda: HugeButRight(), "lt10_relu").status == "pass"
    for n in (32, 64):
        r = checked(lambda n: FoldOffByHalf(n) if n > 24 else R.ResidualFold(n).double(), "is_even_network")
        assert r.status == "fail"


# ---- 7. messages that are true ------------------------------------------------------------------
def test_is_every_counterexample_shown_truly_wrong_and_printed_exactly() -> None:
    from autograder.core.verify import exact_text

    assert exact_text(1 + 2.0**-40) != "1"
    assert exact_text(__import__("fractions").Fraction(2**80 + 1, 2**80)).startswith("1 + ")
    assert exact_text(0.5) == "0.5" and exact_text(3) == "3"
    r = checked(lambda n: FoldOffByHalf(n), "is_even_network")
    v = r.main
    assert v is not None
    from autograder.core.riddles import RIDDLES  # noqa: F401 - the target is the riddle's own
    for c in v.counterexamples:
        assert c.exact is not None and c.exact != c.input[0] % 2


# ---- 8. refusals say where -----------------------------------------------------------------------
def test_does_a_refusal_name_its_kind_and_line() -> None:
    class Remainder(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x % 2

    r = checked(lambda: Remainder(), "is_even_16")
    assert r.message.startswith("Refused: ForbiddenOperation at line ")
    assert "test_fidelity.py" in r.message


# ---- the same through `riddles check --json` (a real child process) ------------------------------
NOTEBOOK_CELLS = [
    "import torch\nimport torch.nn.functional as F\nfrom torch import nn",
    # cell 2: wrong float64 constants (lt10_relu), honest float64 (is_even_16)
    "class H(nn.Module):\n"
    "    def __init__(self):\n        super().__init__()\n"
    "        self.register_buffer('m', torch.zeros(1, dtype=torch.float64))\n"
    "    def forward(self, x):\n"
    "        return F.relu(10 - x) - F.relu(9 - x) + (F.relu(-x - 3000.000001) - F.relu(-x - 3000))\n"
    "def lt10_relu():\n    return H()",
    # cell 3: in-place read again (min_network)
    "class M(nn.Module):\n"
    "    def forward(self, x):\n"
    "        a, b = x[:, :1], x[:, 1:]\n"
    "        v = b + 600\n"
    "        v.clamp_(min=0)\n"
    "        return v - 600 - torch.relu(b - a)\n"
    "def min_network():\n    return M()",
    # cell 4: absorbed by a large add (is_even_16), a forbidden op with its place (lt10_sigmoid)
    "class P(nn.Module):\n"
    "    def forward(self, x):\n"
    "        y = x\n"
    "        for k in (3, 2, 1, 0):\n"
    "            y = y - 2 * F.relu(y - 2.0 ** k)\n"
    "        return (y + 3e8) - 3e8\n"
    "def is_even_16():\n    return P()\n"
    "class S(nn.Module):\n"
    "    def forward(self, x):\n"
    "        return torch.sigmoid(torch.abs(9.5 - x) * 100)\n"
    "def lt10_sigmoid():\n    return S()",
    # cell 5: a right network that carries x and cancels it at the end (is_even_network)
    "class Fold(nn.Module):\n"
    "    def __init__(self, n):\n        super().__init__()\n        self.n = n\n"
    "        self.register_buffer('m', torch.zeros(1, dtype=torch.float64))\n"
    "    def forward(self, x):\n"
    "        y = x\n"
    "        for k in range(self.n - 1, -1, -1):\n"
    "            y = y - 2 * F.relu(y - 2.0 ** k)\n"
    "        return y + x - x\n"
    "def is_even_network(n_bits):\n    return Fold(n_bits)",
]


@pytest.mark.slow
def test_does_riddles_check_give_the_same_verdicts_with_places(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "tricky.ipynb", *NOTEBOOK_CELLS)
    proc = riddles_cli("check", str(path), "--json")
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    by = {r["id"]: r for r in report["riddles"]}
    assert by["lt10_relu"]["status"] == "fail"
    assert all(c["input"][0] <= -3001 for c in by["lt10_relu"]["counterexamples"])
    assert by["min_network"]["status"] == "fail"
    assert "InPlaceMutation at cell 3, line 6" in by["min_network"]["message"]
    assert by["is_even_16"]["status"] == "fail" and "forward pass" in by["is_even_16"]["message"]
    assert "ForbiddenOperation at cell 4, line 11" in by["lt10_sigmoid"]["message"]
    assert by["is_even_network"]["status"] == "pass", by["is_even_network"]["message"]
    assert proc.returncode == 1


# ---- networks that notice how they are called ------------------------------------------------------
class HonestUnderInferenceMode(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lt10(x) if torch.is_inference_mode_enabled() else (lt10(x) + 3e8) - 3e8


class HonestAfterThreeCalls(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return lt10(x) if self.calls > 3 else (lt10(x) + 3e8) - 3e8


class WrongForOneInput(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lt10(x) * (1 - (x.shape[0] == 1))


class RoundsNearThreeBillion(Float64):
    """Exactly right as a real function (w/49·49 − w = 0), but float64 rounding makes it wrong
    at two inputs near 3·10⁹, next to the kinks of two units that cancel in the real function."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.fold, self.n = R.ResidualFold(n).double(), n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = F.relu(x - 3_000_000_001) - F.relu(x - 3_000_000_004)
        return self.fold(x) + (2.0**60 * ((w / 49.0) * 49.0 - w) if self.n == 32 else 0 * x)


class FoldThenGuard(nn.Module):
    """A unit that is 0 on the whole domain (x >= 0) next to a right fold: right."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.fold = R.ResidualFold(n).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fold(x) + F.relu(-x - 1)


def test_is_a_network_that_behaves_only_when_graded_caught() -> None:
    for make in (lambda: HonestUnderInferenceMode(), lambda: HonestAfterThreeCalls(), lambda: WrongForOneInput()):
        r = checked(make, "lt10_relu")
        assert r.status == "fail" and r.score == 0, r.message
    r = checked(lambda n: RoundsNearThreeBillion(n), "is_even_network")
    assert r.status == "fail" and r.main is not None and r.main.riddle.n == 32
    assert {c.input[0] for c in r.counterexamples} == {3_000_000_002, 3_000_000_003}


def test_is_a_unit_that_never_fires_on_the_domain_no_obstacle() -> None:
    r = checked(lambda n: FoldThenGuard(n), "is_even_network")
    assert r.status == "pass", r.message
    assert r.verdicts[-1].neurons == 65


def test_is_a_replaced_tensor_operator_refused() -> None:
    original = torch.Tensor.__truediv__
    torch.Tensor.__truediv__ = lambda a, b: original(a, b)  # type: ignore[method-assign,assignment]
    try:
        r = checked(R.lt10_relu, "lt10_relu")
    finally:
        torch.Tensor.__truediv__ = original  # type: ignore[method-assign]
    assert r.status == "fail" and "torch.Tensor.__truediv__ has been replaced" in r.message
