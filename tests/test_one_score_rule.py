"""The rule itself, on the child's cell loop and the merge (fast; the cells are the test's own code).

Each riddle is judged on its function as defined when its turn comes: at its test cell in a
notebook with nbgrader test cells, else after the last cell that defines it; a cell that raises
or passes the per-cell limit is interrupted and the run goes on.
"""

from __future__ import annotations

from typing import Any

import torch  # noqa: F401 - loaded up front (as the fork server does), so 1 s per cell is enough

from autograder.core.limits import Limits
from autograder.core.riddles import RIDDLES
from autograder.jail.child import run_request
from autograder.jail.judging import NotebookRun, merge_runs
from autograder.jail.sandbox import ChildRun, parse_lines

RIGHT = '''
import torch
from torch import nn
def lt10_relu():
    h, o = nn.Linear(1, 2), nn.Linear(2, 1)
    with torch.no_grad():
        h.weight.copy_(torch.tensor([[-1.0], [-1.0]])); h.bias.copy_(torch.tensor([10.0, 9.0]))
        o.weight.copy_(torch.tensor([[1.0, -1.0]])); o.bias.zero_()
    return nn.Sequential(h, nn.ReLU(), o)
'''
WRONG = "from torch import nn\ndef lt10_relu():\n    return nn.Identity()"
LIMITS = Limits(cell=1, notebook=60, call=10)


def _run(cells: list[str], turns: dict[str, int] | None = None, riddles: list[str] | None = None) -> ChildRun:
    lines: list[str] = []
    import json

    request: dict[str, Any] = {"cells": cells, "turns": turns or {}, "riddles": riddles or ["lt10_relu"],
                               "cell_timeout": LIMITS.cell, "call_timeout": LIMITS.call}
    run_request(request, lambda obj: lines.append(json.dumps(obj)))
    run = ChildRun()
    parse_lines(lines, run, set(RIDDLES))
    return run


def _score(run: ChildRun, about: list[str] | None = None) -> float:
    results, _ = merge_runs([NotebookRun("nb", about or ["lt10_relu"], {}, run)], ["lt10_relu"], LIMITS)
    return results["lt10_relu"].score


def test_at_its_test_cell_a_riddle_is_judged_as_defined_there() -> None:
    # right before the test cell (turn 1), redefined wrong after it: the right one counts
    assert _score(_run([RIGHT, WRONG], turns={"lt10_relu": 1})) == 3
    # wrong before, right only after the test cell: the wrong one counts
    assert _score(_run([WRONG, RIGHT], turns={"lt10_relu": 1})) == 0


def test_without_test_cells_the_last_definition_counts() -> None:
    assert _score(_run([RIGHT, WRONG])) == 0
    assert _score(_run([WRONG, RIGHT])) == 3


def test_a_slow_or_raising_cell_is_interrupted_and_the_run_goes_on() -> None:
    run = _run(["import time\ntime.sleep(30)", "raise ValueError('no')", RIGHT])
    assert run.finished and _score(run) == 3
    assert run.cell_errors[0].startswith("cell 1: interrupted at the per-cell limit of 1 s")
    assert run.cell_errors[1] == "cell 2: ValueError: no (line 1)"


def test_a_run_cut_off_later_keeps_what_was_captured() -> None:
    run = _run([RIGHT, "x = 1"])
    cut = ChildRun(captures=run.captures, finished=False, timed_out=True)
    assert _score(cut) == 3
    # but a riddle whose turn never came is an error that names the limit
    never = ChildRun(captures={}, finished=False, timed_out=True)
    results, notes = merge_runs([NotebookRun("nb", ["lt10_relu"], {}, never)], ["lt10_relu"], LIMITS)
    assert results["lt10_relu"].status == "error"
    assert "whole-notebook limit of 60 s, before the turn of lt10_relu" in results["lt10_relu"].message
    assert notes == ["nb: stopped at the whole-notebook limit of 60 s"]


def test_a_notebook_with_test_cells_is_about_those_riddles_only() -> None:
    run = _run([RIGHT], turns={"min_network": 1}, riddles=["lt10_relu", "min_network"])
    assert "lt10_relu" not in run.captures and run.captures["min_network"]["status"] == "missing"


def test_the_first_notebook_about_a_riddle_is_graded_and_the_other_named() -> None:
    a, b = _run([RIGHT]), _run([WRONG])
    results, notes = merge_runs([NotebookRun("a", ["lt10_relu"], {}, a), NotebookRun("b", ["lt10_relu"], {}, b)],
                                ["lt10_relu"], LIMITS)
    assert results["lt10_relu"].score == 3
    assert "lt10_relu is defined in a and in b: graded from a" in notes


def test_a_deleted_test_cell_is_graded_where_nbgrader_puts_it_back() -> None:
    """nbgrader autograde (add_missing_cells) restores a deleted test cell right after the answer
    cell before it; every other front end gives the riddle its turn at the same place."""
    import json
    from pathlib import Path

    from autograder.jail.plan import plan_cells

    path = Path(__file__).resolve().parents[1] / "assignments" / "riddles" / "01-less-than-ten.ipynb"
    cells = json.loads(path.read_text())["cells"]
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells]
    kept = [c for c, gid in zip(cells, ids) if gid != "test_lt10_relu"]
    plan = plan_cells(kept)
    assert "lt10_relu" in plan.about and "lt10_sigmoid" in plan.about
    code = [c for c in kept if c["cell_type"] == "code"
            and not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    answer = next(i for i, c in enumerate(code)
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "answer_lt10_relu")
    assert plan.turns["lt10_relu"] == answer + 1
