"""What an autograded test cell runs inside the kernel.

Under nbgrader this in-kernel result is only provisional: the `RiddleScores` preprocessor
(autograder.nbgrader_plugin) recomputes every riddle test cell outside the student's kernel
and overwrites its output.  The cell must still behave: report on stdout, nothing on
stderr, and the score as the value of its last expression (nbgrader's partial credit).
"""

from __future__ import annotations

import warnings
from typing import Any

from .checker import check_function
from .report import riddle_text
from .result import missing
from .riddles import RIDDLES


def riddle_test(fn: Any, riddle: str) -> float:
    """Check `fn` for `riddle`, print the report, and return the score."""
    spec = RIDDLES[riddle]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = missing(spec) if fn is None else check_function(fn, riddle)
    print(riddle_text(result))
    return result.score
