"""`check(fn)`: the self-check a student runs in a notebook, as often as they like."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..core.checker import check_function
from ..core.course_riddles import CourseRiddleError, in_kernel
from ..core.result import RiddleResult
from ..render.text import riddle_text


def check(fn: Callable[..., Any], riddle: str | None = None, *, plot: bool = True) -> RiddleResult | None:
    """Check a riddle function in this kernel: print its report, show its figure, return it.

    The riddle is found by the function's name (`check(lt10_relu)`), or named explicitly
    (`check(my_net, riddle="lt10_relu")`).  While a notebook is being graded (the grader sets
    RIDDLES_GRADING) this does nothing: grading happens outside the student's process."""
    if os.environ.get("RIDDLES_GRADING") or os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print("(self-check skipped while grading)")
        return None
    try:
        in_kernel()  # the course's own riddles, when this notebook is in a course folder
        result = check_function(fn, riddle)
    except (ValueError, CourseRiddleError) as e:
        print(f"check: {e}")
        return None
    print(riddle_text(result))
    if result.status in ("error", "fail"):
        from ..core.mistakes import explain

        hint = explain(result.message)
        if hint:
            print(hint)
    if plot and result.verdicts and _in_ipython():
        from IPython.display import display

        from ..render.figures import figure

        fig = figure(result)
        if fig is not None:
            display(fig)
            import matplotlib.pyplot as plt

            plt.close(fig)
    return result


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython

        return get_ipython() is not None
    except ImportError:
        return False
