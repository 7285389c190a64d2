"""What the nbgrader cells of the riddle notebooks run or say.

A riddle test cell has two parts:

* a visible part, `self_test(...)`, which the student sees and `nbgrader validate` runs: it
  checks the answer in the kernel and ends the cell with the riddle's score, so a wrong or
  unfinished answer shows as a failed test (nbgrader's partial-credit rule) without stopping
  "Run All";
* a hidden part, `riddle_test(...)`, only in the instructor's copy.  Under `nbgrader
  autograde` its in-kernel result is provisional: the `RiddleScores` preprocessor
  (autograder.frontends.nbgrader_plugin) regrades every riddle test cell outside the student's kernel
  and overwrites its output.

`rules_markdown()` is the rules cell of every notebook (the limits, budgets and the
efficiency formula, from `limits.py` and `riddles.py`; a test keeps the notebooks in step).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ..core.checker import NotAFunction, check_function
from ..core.course_riddles import in_kernel
from ..core.limits import DEFAULT, Limits
from ..core.result import error, missing
from ..core.riddles import RIDDLES
from ..render.text import MARK, riddle_text


def _grading() -> bool:
    return bool(os.environ.get("RIDDLES_GRADING")) or os.environ.get("NBGRADER_EXECUTION") == "autograde"


def _result(fn: Any, riddle: str) -> Any:
    in_kernel()  # the course's own riddles, when this notebook is in a course folder
    spec = RIDDLES[riddle]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fn is None:
            return missing(spec)
        try:
            return check_function(fn, riddle)
        except NotAFunction as e:
            return error(spec, str(e))


def riddle_test(fn: Any, riddle: str) -> float:
    """Check `fn` for `riddle`, print the report, and return the score (the hidden part)."""
    result = _result(fn, riddle)
    print(riddle_text(result))
    return result.score


def self_test(fn: Any, riddle: str) -> float | None:
    """The visible part of a test cell: check the answer here, print one line, and end the
    cell with the score (below the cell's points, nbgrader counts the test as failed).  While
    the notebook is autograded it does nothing: grading happens outside the kernel."""
    if _grading():
        return None
    result = _result(fn, riddle)
    head = f"{riddle}: {MARK[result.status]} {result.score:g}/{result.max_score:g}"
    if result.status == "pass" and result.score >= result.max_score:
        print(f"{head}. This is also what the grader will check.")
    else:
        print(f"{head}. {result.message}")
    return result.score


def _budget(rid: str) -> str:
    spec = RIDDLES[rid]
    return spec.budget_text or (str(spec.budget) if not spec.sizes else "depends on n")


def _minimum(rid: str) -> str:
    spec = RIDDLES[rid]
    return spec.bound_text or (str(spec.lower_bound) if not spec.sizes else "depends on n")


def rules_markdown(limits: Limits = DEFAULT) -> str:
    """The rules cell shared by every riddle notebook."""
    rows = "\n".join(
        f"| `{spec.signature}` | {spec.points.exact:g} + {spec.points.efficiency:g} "
        f"| {_minimum(rid)} | {_budget(rid)} |"
        for rid, spec in RIDDLES.items())
    return f"""**The rules of every riddle.** Your function returns a `torch.nn.Module`. It may use
`nn.Linear` layers, the riddle's activation (ReLU spelled any way, or a sigmoid where the
riddle says so), and *affine glue*: adding or subtracting tensors, multiplying or dividing by
constants, slicing, concatenation, reshapes and skip connections. Comparisons, `%`, `abs`,
rounding, `min`/`max`, products of two input-dependent tensors and Python `if`s on the input
are refused. The input is a float tensor of shape `(batch, inputs)`; return `(batch, 1)`.
Pass the function itself to `check` (`check(lt10_relu)`, not `check(lt10_relu())`).

**Exact means exact.** The grader works out the function your weights define in exact
rational arithmetic; a network that is right only thanks to float rounding fails. Weights
such as 0.5, 0.25, 3 or 1/1024 (dyadic fractions) are stored exactly; 0.1 or 1/3 are not.

**Neurons** are the nonlinear activations evaluated for one input: every hidden ReLU, plus the
output unit if it has an activation. Linear layers, additions and skips are free.

**Points.** An exact network earns a riddle's exactness points; its efficiency points are
multiplied by *efficiency = budget ÷ neurons, capped at 1* (for `is_even_network`, the worst
graded n counts). A network that is not exact earns nothing.

| riddle | points (exact + efficiency) | proven minimum | budget |
|---|---|---|---|
{rows}

**When your notebook is graded** (by nbgrader, `riddles check`, `riddles grade`, pytest or
Gradescope, all alike): the code cells run in order; {limits.sentence()}. Each riddle is
graded on your function as it is defined when its test cell comes, so a later cell that
fails or hangs never costs you a riddle answered before it."""


def graded_cell_source(riddle: str) -> str:
    """The source of a riddle's test cell in the instructor's notebook."""
    points = RIDDLES[riddle].points.total
    return f"""# Autograded test for {riddle} ({points:g} points). Run it to check your answer as the grader
# will; when the notebook is graded, {riddle} is judged here, as it is defined at this cell.
from autograder.frontends.nbgrader_cells import self_test
self_test(globals().get("{riddle}"), "{riddle}")
### BEGIN HIDDEN TESTS
from autograder.frontends.nbgrader_cells import riddle_test
riddle_test(globals().get("{riddle}"), "{riddle}")
### END HIDDEN TESTS"""


def riddle_cells(riddle: str, answer: str) -> list[Any]:
    """The cells a riddle needs in an instructor notebook, with nbgrader's metadata: the answer
    cell (`answer` is the function, its solution between `### BEGIN SOLUTION` and
    `### END SOLUTION`), a `check(...)` cell and the locked test cell `test_<id>`."""
    from nbformat.v4 import new_code_cell

    def meta(grade_id: str, *, grade: bool, solution: bool, locked: bool,
             points: float | None = None) -> dict[str, Any]:
        nb = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
              "solution": solution, "task": False}
        return {"nbgrader": {**nb, "points": points} if points is not None else nb}

    return [new_code_cell(answer.strip("\n"),
                          metadata=meta(f"answer_{riddle}", grade=False, solution=True, locked=False)),
            new_code_cell(f"check({riddle});"),
            new_code_cell(graded_cell_source(riddle), metadata=meta(f"test_{riddle}", grade=True, solution=False,
                                                                    locked=True, points=RIDDLES[riddle].points.total))]
