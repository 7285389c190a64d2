"""An nbgrader preprocessor that grades riddle test cells outside the student's kernel.

Plain nbgrader runs test cells inside the student's kernel, where a submission can patch
`torch.allclose`, numpy, or `autograder.check` itself.  `RiddleScores` runs after
`Execute`: it takes the notebook's non-test code cells (the student's answers), runs them in
a jail of their own through the launcher every front end uses (`forkserver.py`; one fork
server per process, so torch is imported once per `nbgrader autograde` run) under the same
rule and limits as every other front end (`autograder.jail.plan`, `autograder.core.limits`: each riddle
captured at its test cell; the per-cell limit is nbgrader's own `Execute.timeout`), receives
the captured networks as plain data, verifies them with the grader's own code, and
overwrites each riddle test cell's outputs with the report, the figure and the score.
Whatever happened in the kernel is discarded for those cells.

A riddle test cell is a locked nbgrader grade cell whose grade_id is ``test_<riddle id>``.
"""

from __future__ import annotations

import atexit
import base64
import io
import threading
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float

from ..core.course_riddles import find_course_root, use_course
from ..core.limits import DEFAULT, HELP_TEXT, Limits
from ..core.result import RiddleResult, error, scaled
from ..core.riddles import RIDDLES
from ..jail.forkserver import ForkServer
from ..jail.judging import NotebookRun, merge_runs
from ..jail.plan import is_test_cell, plan_cells, riddle_of, riddle_of_grade_id  # noqa: F401 - re-exported
from ..jail.sandbox import run_cells
from ..render.text import riddle_text


def execute_timeout(config: Any) -> float | None:
    """The per-cell timeout nbgrader's `Execute` runs the kernel with (None: no limit)."""
    from nbgrader.preprocessors import Execute

    section = config.get("Execute", {}) if hasattr(config, "get") else {}
    value = section.get("timeout") if "timeout" in section else Execute.timeout.default_value
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def grade_notebook_cells(cells: list[NotebookNode], *, limits: Limits = DEFAULT,
                         server: ForkServer | None = None) -> dict[str, RiddleResult]:
    """Run the answer cells in a jail, each riddle captured at its test cell, and judge
    every riddle the notebook tests."""
    for i, c in enumerate(cells, start=1):
        source = c.get("source", "") if isinstance(c, dict) else None
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(x, str) for x in source))):
            why = f"unusable input: cell {i} has no text source ({type(source).__name__})"
            ids = [rid for cell in cells if isinstance(cell, dict) and (rid := riddle_of(cell))]
            return {rid: error(RIDDLES[rid], why) for rid in ids}
    plan = plan_cells(cells, "the notebook's code")
    ids = list(plan.turns)
    if not ids:
        return {}
    run = run_cells(plan.cells, ids, timeout=limits.notebook, cell_timeout=limits.cell, call_timeout=limits.call,
                    memory=limits.memory_bytes, turns=plan.turns, numbers=plan.numbers, server=server)
    nb = NotebookRun(plan.name, plan.about, plan.definers, run)
    return merge_runs([nb], ids, limits)[0]


def figure_png(result: RiddleResult) -> str | None:
    if not result.verdicts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..render.figures import figure

    fig = figure(result)
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def cell_outputs(result: RiddleResult, points: float) -> list[NotebookNode]:
    """Report on stdout, the figure, and the score scaled to the cell's points."""
    outs = [new_output("stream", name="stdout", text=riddle_text(result) + "\n")]
    png = figure_png(result)
    if png:
        outs.append(new_output("display_data", data={"image/png": png, "text/plain": "<figure>"}))
    value = scaled(points, result.score, result.max_score)
    outs.append(new_output("execute_result", data={"text/plain": repr(float(value))}, execution_count=None))
    return outs


def course_root(config: Any) -> Path | None:
    """The course nbgrader grades (its CourseDirectory.root, else the one found from the working
    directory): its own riddles are graded like the package's (docs/authoring.md)."""
    section = config.get("CourseDirectory", {}) if hasattr(config, "get") else {}
    root = section.get("root") if "root" in section else None
    return Path(root) if isinstance(root, str) and root else find_course_root()


_SHARED: list[ForkServer] = []
_SHARED_LOCK = threading.Lock()


def shared_launcher() -> ForkServer:
    """One fork server for every notebook this process grades (nbgrader makes a new
    preprocessor per notebook, so it cannot live on the preprocessor); stopped at exit."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(ForkServer())
            atexit.register(_SHARED[0].stop)
        return _SHARED[0]


class RiddleScores(NbGraderPreprocessor):
    """Recompute riddle test cells outside the student's kernel (see module docstring)."""

    timeout = Float(DEFAULT.notebook, help=HELP_TEXT["notebook"]).tag(config=True)
    call_timeout = Float(DEFAULT.call, help=HELP_TEXT["call"]).tag(config=True)
    memory_gib = Float(DEFAULT.memory_gib, help=HELP_TEXT["memory_gib"]).tag(config=True)

    @property
    def limits(self) -> Limits:
        """The per-cell limit is the one nbgrader's `Execute` uses in the kernel (one value)."""
        return Limits(cell=execute_timeout(self.config) or self.timeout, notebook=self.timeout,
                      call=self.call_timeout, memory_gib=self.memory_gib)

    def _launcher(self) -> ForkServer:
        return shared_launcher()

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        use_course(course_root(self.config))
        results = grade_notebook_cells(nb.cells, limits=self.limits, server=self._launcher())
        for cell in nb.cells:
            rid = riddle_of(cell)
            if rid is None or rid not in results:
                continue
            points = float(cell.metadata["nbgrader"].get("points", 0))
            cell.outputs = cell_outputs(results[rid], points)
            self.log.info("riddle %s: %s %g/%g (graded outside the kernel)", rid,
                          results[rid].status, results[rid].score, results[rid].max_score)
        return nb, resources
