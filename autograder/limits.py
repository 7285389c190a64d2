"""The one set of limits every front end grades with.

A notebook's score must not depend on where it is graded, so `check()`, `riddles check`,
nbgrader (its `Execute` per-cell timeout and the `RiddleScores` preprocessor), `riddles grade`,
the pytest plugin and the Gradescope bundle all take their limits from `Limits`; flags and
settings only override these values, under the same names and help texts.  The notebooks'
rules cell and docs/students.md state the defaults (a test checks that they do).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Time and memory allowed to one notebook while it is graded."""

    cell: float = 60.0
    """Seconds for one code cell; a cell that runs longer is interrupted and the run goes on
    with the next cell, as nbgrader does."""
    notebook: float = 300.0
    """Seconds for the whole notebook; at this limit the run stops, and only the riddles whose
    turn had come by then are graded."""
    call: float = 30.0
    """Seconds for each call of a riddle function (building one network)."""
    memory_gib: float = 4.0
    """Memory for the notebook's process, in GiB."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"the {f.name} limit must be a positive number, not {value!r}")

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * 1024**3)

    def to_json(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Any) -> Limits:
        if not isinstance(data, dict):
            raise ValueError("the limits are not a JSON object")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(unknown)}")
        return cls(**data)

    def sentence(self) -> str:
        """The limits in words, as the notebooks and docs state them."""
        return (f"each cell may run {self.cell:g} s (a cell that runs longer is interrupted and the "
                f"run goes on with the next cell), the whole notebook {self.notebook:g} s, and each "
                f"call of a riddle function {self.call:g} s")

    def __repr__(self) -> str:
        return (f"Limits(cell {self.cell:g} s, notebook {self.notebook:g} s, call {self.call:g} s, "
                f"memory {self.memory_gib:g} GiB)")


DEFAULT = Limits()

# Flag names, shared by `riddles check`, `riddles grade`, `riddles gradescope build` and (with a
# `riddles-` prefix) the pytest plugin.
FLAGS = {"cell": "cell-timeout", "notebook": "timeout", "call": "call-timeout", "memory_gib": "memory"}
HELP_TEXT = {
    "cell": "seconds per code cell; a slower cell is interrupted and the run goes on",
    "notebook": "seconds for the whole notebook",
    "call": "seconds per call of a riddle function",
    "memory_gib": "memory limit per notebook in GiB",
}


def add_arguments(parser: Any, prefix: str = "", default: Limits = DEFAULT) -> None:
    """Add the four limit flags to an argparse parser (or a pytest option group)."""
    add = getattr(parser, "add_argument", None) or parser.addoption
    for name, flag in FLAGS.items():
        value = getattr(default, name)
        add(f"--{prefix}{flag}", type=float, default=value, metavar="GIB" if name == "memory_gib" else "SECONDS",
            dest=f"{prefix.replace('-', '_')}{flag.replace('-', '_')}",
            help=f"{HELP_TEXT[name]} (default {value:g})")


def from_arguments(get: Any, prefix: str = "") -> Limits:
    """Limits from parsed flags; `get(dest)` returns one flag's value.  ValueError names the flag."""
    values = {}
    for name, flag in FLAGS.items():
        value = get(f"{prefix.replace('-', '_')}{flag.replace('-', '_')}")
        if not value > 0:
            raise ValueError(f"--{prefix}{flag} must be positive, not {value:g}")
        values[name] = float(value)
    return Limits(**values)
