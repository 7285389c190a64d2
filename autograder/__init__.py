"""neuron-riddles: write a tiny network's weights by hand, and get an exact verdict.

Public surface: `check` (notebook self-check), `RIDDLES` (the riddle specs), and the
pure backend functions `capture_riddle` / `judge` that every front end shares.  They are
imported on first use, so that loading the pytest plugin (in every pytest run of an
environment that has this package) costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["RIDDLES", "capture_riddle", "check", "check_function", "judge"]
__version__ = "0.1.0"

_HOME = {"RIDDLES": ".core.riddles", "capture_riddle": ".core.checker", "check": ".frontends.notebook",
         "check_function": ".core.checker", "judge": ".core.checker"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
