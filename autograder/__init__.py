"""neuron-riddles: write a tiny network's weights by hand, and get an exact verdict.

Public surface: `check` (notebook self-check), `RIDDLES` (the riddle specs), and the
pure backend functions `capture_riddle` / `judge` that every front end shares.
"""

from .checker import capture_riddle, check_function, judge
from .notebook import check
from .riddles import RIDDLES

__all__ = ["RIDDLES", "capture_riddle", "check", "check_function", "judge"]
__version__ = "0.1.0"
