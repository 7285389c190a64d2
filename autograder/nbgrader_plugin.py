"""An nbgrader preprocessor that grades riddle test cells outside the student's kernel.

Plain nbgrader runs test cells inside the student's kernel, where a submission can patch
`torch.allclose`, numpy, or `autograder.check` itself.  `RiddleScores` runs after
`Execute`: it takes the notebook's non-test code cells (the student's answers), runs them in
a jail of their own through the launcher every front end uses (`forkserver.py`; one fork
server per process, so torch is imported once per `nbgrader autograde` run), receives
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
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer

from .forkserver import ForkServer
from .report import riddle_text
from .result import RiddleResult, error
from .riddles import RIDDLES
from .sandbox import run_cells
from .submission import merge_runs

PREFIX = "test_"


def riddle_of_grade_id(gid: str) -> str | None:
    """`test_<riddle id>` -> the riddle id; None for any other grade id."""
    rid = gid[len(PREFIX):] if gid.startswith(PREFIX) else None
    return rid if rid in RIDDLES else None


def scaled(points: float, score: float, max_score: float) -> float:
    """A riddle's score as a share of a grade cell's points (test-cell output and gradebook alike)."""
    return round(points * score / max_score, 4) if max_score else 0.0


def riddle_of(cell: NotebookNode) -> str | None:
    """The riddle id a cell tests, or None for any other cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
        return riddle_of_grade_id(str(meta.get("grade_id", "")))
    return None


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def grade_notebook_cells(cells: list[NotebookNode], *, timeout: float, call_timeout: float,
                         server: ForkServer | None = None, memory: int = 4 * 1024**3) -> dict[str, RiddleResult]:
    """Run the answer cells in a jail and judge every riddle tested by the notebook."""
    ids = [rid for c in cells if (rid := riddle_of(c))]
    if not ids:
        return {}
    answers = []
    for i, c in enumerate(cells, start=1):
        if c.get("cell_type") == "code" and not is_test_cell(c):
            source = c.get("source", "")
            if isinstance(source, list) and all(isinstance(x, str) for x in source):
                source = "".join(source)
            if not isinstance(source, str):
                why = f"unusable input: the source of cell {i} is {type(source).__name__}, not text"
                return {rid: error(RIDDLES[rid], why) for rid in ids}
            answers.append(source)
    run = run_cells(answers, ids, timeout=timeout, cell_timeout=timeout, call_timeout=call_timeout, server=server,
                    memory=memory)
    return merge_runs([("the notebook's code", run)], ids, timeout)[0]


def figure_png(result: RiddleResult) -> str | None:
    if not result.verdicts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import figure

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

    timeout = Integer(300, help="Seconds for the whole answer code of one notebook.").tag(config=True)
    call_timeout = Float(30.0, help="Seconds for each call of a riddle function.").tag(config=True)

    memory = Float(4.0, help="Memory limit for the notebook as a whole, in GiB.").tag(config=True)

    def _launcher(self) -> ForkServer:
        return shared_launcher()

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        results = grade_notebook_cells(nb.cells, timeout=self.timeout, call_timeout=self.call_timeout,
                                       server=self._launcher(), memory=int(self.memory * 1024**3))
        for cell in nb.cells:
            rid = riddle_of(cell)
            if rid is None or rid not in results:
                continue
            points = float(cell.metadata["nbgrader"].get("points", 0))
            cell.outputs = cell_outputs(results[rid], points)
            self.log.info("riddle %s: %s %g/%g (graded outside the kernel)", rid,
                          results[rid].status, results[rid].score, results[rid].max_score)
        return nb, resources
