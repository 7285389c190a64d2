"""`is_even_16_sequential`: parity on 0..15 with a plain stack of layers, no skips.

Does the best known plain network pass, does a wider one pass over the minimum, is a skip
refused wherever it hides (with the place of the skip), and is the stated bound the one the
product bound of docs/theory.md gives?
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from autograder import check_function
from autograder.core.capture import capture
from autograder.core.riddles import RIDDLES
from autograder.core.sequential import depths, find_skip
from solutions import reference as R
from solutions.flawed import AddsItsInput

from .conftest import ROOT, make_notebook, riddles_cli

RID = "is_even_16_sequential"
SPEC = RIDDLES[RID]


def _line_of(obj: object, text: str) -> int:
    """The line number of the first source line of `obj` that contains `text`."""
    lines, first = inspect.getsourcelines(obj)  # type: ignore[arg-type]
    return first + next(i for i, ln in enumerate(lines) if text in ln)


# ---- the constructions ---------------------------------------------------------------------------
def test_does_the_7_unit_zigzag_pass_with_full_credit() -> None:
    r = check_function(R.is_even_16_sequential)
    assert r.status == "pass", r.message
    assert r.neurons == 7 and r.neurons <= SPEC.budget
    assert r.score == r.max_score == SPEC.points.total


def test_does_an_8_unit_tent_fold_pass_over_the_minimum_with_partial_efficiency() -> None:
    r = check_function(R.is_even_16, RID)  # tent folds: ReLU(y) carries y, ReLU(y - 2^k) folds
    assert r.status == "pass" and r.exact, r.message
    assert r.neurons == 8 > SPEC.budget
    assert r.score == pytest.approx(SPEC.points.exact + SPEC.points.efficiency * SPEC.budget / 8)
    assert "over budget" in r.message


def test_is_a_final_relu_a_layer_of_width_one_counted_as_a_neuron() -> None:
    r = check_function(lambda: nn.Sequential(R.is_even_16_zigzag(), nn.ReLU()), RID)
    assert r.status == "pass", r.message
    assert r.neurons == 8
    assert any("final ReLU counts as a neuron" in n for v in r.verdicts for n in v.notes)


def test_does_a_plain_network_written_as_a_class_with_glue_pass() -> None:
    """The rule is about what the network computes, not its Python class: scaling, shifting
    and slicing between layers keep a plain network plain."""
    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seq = R.is_even_16_zigzag()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            first = self.seq[1](self.seq[0](x * 2 / 2))
            second = torch.relu(self.seq[2](torch.cat([first[:, :2], first[:, 2:]], dim=1)) + 0)
            return self.seq[4](second) * 1.0

    r = check_function(lambda: Plain(), RID)
    assert r.status == "pass", r.message
    assert r.neurons == 7


def test_is_the_zigzag_exact_on_0_to_16_and_wrong_at_17_as_its_docstring_says() -> None:
    xs = torch.arange(-1, 19, dtype=torch.float64)[:, None]
    y = R.is_even_16_zigzag().double()(xs).reshape(-1)
    right = [int(x) for x, v in zip(xs.reshape(-1).tolist(), y.tolist()) if v == int(x) % 2]
    assert right == list(range(17))


def test_does_a_wrong_plain_network_fail_without_being_refused() -> None:
    def wrong() -> nn.Module:
        net = R.is_even_16_zigzag()
        with torch.no_grad():
            net[4].bias.fill_(5.0)  # the output is off by one everywhere
        return net

    r = check_function(wrong, RID)
    assert r.status == "fail" and r.score == 0
    assert "Refused" not in r.message and "expected" in r.message
    assert not any(v.refused for v in r.verdicts)


# ---- skips, wherever they are --------------------------------------------------------------------
class Residual(nn.Module):
    """is_even_16's answer: y <- y - 2 ReLU(y - 2^k), one unit per fold, through a skip."""

    def __init__(self) -> None:
        super().__init__()
        self.folds = nn.ModuleList(nn.Linear(1, 1) for _ in range(4))
        with torch.no_grad():
            for layer, k in zip(self.folds, (3, 2, 1, 0)):
                layer.weight.fill_(1.0)
                layer.bias.fill_(-(2.0 ** k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for fold in self.folds:
            y = y - 2 * torch.relu(fold(y))  # the skip
        return y


def test_is_the_residual_fold_refused_with_the_place_of_its_skip() -> None:
    assert check_function(lambda: Residual(), "is_even_16").status == "pass"  # allowed there
    r = check_function(lambda: Residual(), RID)
    assert r.status == "fail" and r.score == 0
    line = _line_of(Residual.forward, "# the skip")
    assert r.message.startswith(f"Refused: SkipConnection at line {line} of test_sequential.py: "), r.message
    assert "the output of layer 1 is subtracted from the input x and layer 2 reads the result" in r.message


def test_is_a_skip_inside_a_module_of_an_nn_sequential_refused() -> None:
    r = check_function(lambda: nn.Sequential(nn.Linear(1, 2), nn.ReLU(), AddsItsInput(2), nn.Linear(2, 1)), RID)
    assert r.status == "fail" and r.score == 0
    from solutions import flawed

    line = _line_of(AddsItsInput.forward, "return h + torch.relu")
    assert f"SkipConnection at line {line} of {Path(flawed.__file__).name}" in r.message, r.message
    assert "the output of layer 2 is added to the output of layer 1 and the network's output reads" in r.message


class TwoBack(nn.Module):
    """Layer 3 reads layers 1 and 2 side by side (a DenseNet-style skip)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c, self.out = nn.Linear(1, 2), nn.Linear(2, 2), nn.Linear(4, 2), nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = torch.relu(self.a(x))
        h2 = torch.relu(self.b(h1))
        h3 = torch.relu(self.c(torch.cat([h1, h2], dim=1)))
        return self.out(h3)


class InputAgain(nn.Module):
    """The input read again by a later layer, through a shifted copy."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(1, 3), nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.a(x))
        return torch.relu(self.b(h) + (x - 1))


@pytest.mark.parametrize(("module", "words"), [
    (TwoBack, "the output of layer 1 and the output of layer 2 are put side by side and layer 3 reads"),
    (InputAgain, "the input x is added to the output of layer 1 and layer 2 reads"),
], ids=["two-layers-back", "input-again"])
def test_is_every_kind_of_skip_named_with_its_layers(module: type[nn.Module], words: str) -> None:
    net = capture(module(), 1, [[float(x)] for x in range(16)])
    skip = find_skip(net)
    assert skip is not None and words in str(skip), skip
    assert skip.where.startswith("line ") and skip.where.endswith("test_sequential.py")


def test_are_layers_counted_by_what_they_read_not_by_how_they_are_written() -> None:
    """Two ReLU calls on parts of one layer are one layer; a ReLU of a ReLU is a new layer."""
    class Split(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(1, 4), nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = self.a(x)
            h = torch.cat([torch.relu(z[:, :2]), torch.relu(z[:, 2:])], dim=1)
            return torch.relu(torch.relu(self.b(h)))

    net = capture(Split(), 1, [[float(x)] for x in range(4)])
    assert find_skip(net) is None
    units = [max(d) for op, d in zip(net.ops, depths(net)) if op.op == "relu"]
    assert units == [1, 1, 2, 3]


def test_is_a_skip_refused_in_a_description_that_no_capture_made() -> None:
    """The rule reads the description's ops (untrusted plain data), not anything torch says."""
    from autograder.core.checker import capture_riddle, judge

    data = capture_riddle(SPEC, R.is_even_16_zigzag)
    ops = data["instances"][0]["network"]["ops"]
    # make the output layer also read the input: out = linear(h2) + 0·x
    ops.append({"op": "scale", "args": [0], "shape": [1], "const": 0.0, "where": "cell 9, line 3"})
    ops.append({"op": "add", "args": [len(ops) - 2, len(ops) - 1], "shape": [1]})
    r = judge(SPEC, data)
    assert r.status == "fail"
    assert r.message.startswith("Refused: SkipConnection: the input x is added to the output of layer 2"), r.message


# ---- the bound and the spec ----------------------------------------------------------------------
def test_is_the_stated_bound_what_the_product_bound_gives() -> None:
    """docs/theory.md §4: 15 non-flat pieces need prod(w + 1) >= 15 over layers of width >= 2;
    the smallest sum of such widths is the bound the riddle states."""
    pieces = 16 - 1
    best = min(sum(ws) for k in range(1, 5) for ws in itertools.product(range(2, 16), repeat=k)
               if math.prod(w + 1 for w in ws) >= pieces)
    assert best == SPEC.lower_bound == 6
    assert SPEC.architecture == "sequential" and SPEC.budget == 7
    assert RIDDLES["is_even_16"].architecture is None  # skips stay allowed elsewhere


def test_does_docs_theory_state_this_riddles_bound_and_budget() -> None:
    theory = (ROOT / "docs" / "theory.md").read_text()
    section = theory[theory.index("### The riddle `is_even_16_sequential`"):]
    section = section[: section.index("\n#")]
    assert f"at least {SPEC.lower_bound} units" in section and f"budget is {SPEC.budget}" in section
    assert "`is_even_16_sequential`" in (ROOT / "docs" / "students.md").read_text()


# ---- a real child process, with the student's cell and line ------------------------------------
@pytest.mark.slow
def test_does_riddles_check_name_the_cell_and_line_of_the_skip(tmp_path: Path) -> None:
    path = make_notebook(
        tmp_path / "skip.ipynb",
        "import torch\nfrom torch import nn",
        "class Block(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.layer = nn.Linear(2, 2)\n"
        "    def forward(self, h):\n"
        "        return h + torch.relu(self.layer(h))\n"
        "def is_even_16_sequential():\n"
        "    return nn.Sequential(nn.Linear(1, 2), nn.ReLU(), Block(), nn.Linear(2, 1))")
    proc = riddles_cli("check", str(path), "--json")
    by = {r["id"]: r for r in json.loads(proc.stdout)["riddles"]}
    got = by[RID]
    assert got["status"] == "fail" and got["score"] == 0
    assert got["message"].startswith("Refused: SkipConnection at cell 2, line 6: the output of layer 2 "
                                     "is added to the output of layer 1"), got["message"]
