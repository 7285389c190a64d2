"""Why a network is refused: one exception class per kind of refusal.

Each refusal names the student's line where the capture knows it ("cell 4, line 12"), so a
student can go straight to the place.  The class name is part of the message the student
reads, which is why the classes are named after what went wrong, not after where in the
grader it was noticed.
"""

from __future__ import annotations


class CaptureError(Exception):
    """The candidate cannot be captured or breaks the riddle's rules."""

    def __init__(self, message: str, where: str = "") -> None:
        self.reason = message
        self.where = where
        super().__init__(message)

    def __str__(self) -> str:
        place = f" at {self.where}" if self.where else ""
        return f"{type(self).__name__}{place}: {self.reason}"


class ForbiddenOperation(CaptureError):
    """An operation outside the riddle's vocabulary (remainder, abs, comparisons, ...)."""


class InputControlFlow(CaptureError):
    """Python `if`/`for`/`while` that depends on the input: the ops would differ per input."""


class InPlaceMutation(CaptureError):
    """A value is changed in place and then read again (or the change is invisible to tracing)."""


class NarrowFloat(CaptureError):
    """float16/bfloat16 parameters or a cast to a narrower float type inside forward."""


class HiddenBehaviour(CaptureError):
    """Hooks, an overridden `__call__`, or a forward pass that differs from the traced one."""


class BadShape(CaptureError):
    """The network's input or output does not have the shape the riddle needs."""


class SkipConnection(CaptureError):
    """A riddle that takes a plain stack of layers got a layer reading something other than
    the previous layer's output (a residual add, a concatenation with an earlier layer)."""
