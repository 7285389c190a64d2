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

LARGEST = {"cell": 86_400.0, "notebook": 86_400.0, "call": 86_400.0, "memory_gib": 1024.0, "notebooks": 1000}
"""The largest value of each limit (a day, a TiB, a thousand notebooks): beyond, a timer or a
memory size would overflow, and no grading run needs more."""


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
    notebooks: int = 5
    """Notebooks graded per submission (in path order); any more are named in a note, not run."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            kinds = int if f.name == "notebooks" else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or not 0 < value <= LARGEST[f.name]:
                what = "a positive whole number" if f.name == "notebooks" else "a positive number"
                raise ValueError(f"the {f.name} limit must be {what} of at most {LARGEST[f.name]:g}, not {value!r}")

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * 1024**3)

    def to_json(self) -> dict[str, float | int]:
        return {k: v if k == "notebooks" else float(v) for k, v in asdict(self).items()}

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
                f"memory {self.memory_gib:g} GiB, {self.notebooks} notebooks)")


DEFAULT = Limits()

# Flag names, shared by `riddles check`, `riddles grade`, `riddles gradescope build` and (with a
# `riddles-` prefix) the pytest plugin.
FLAGS = {"cell": "cell-timeout", "notebook": "timeout", "call": "call-timeout", "memory_gib": "memory",
         "notebooks": "max-notebooks"}
HELP_TEXT = {
    "cell": "seconds per code cell; a slower cell is interrupted and the run goes on",
    "notebook": "seconds for the whole notebook",
    "call": "seconds per call of a riddle function",
    "memory_gib": "memory limit per notebook in GiB",
    "notebooks": "notebooks graded per submission; more are named in a note, not run",
}
METAVAR = {"memory_gib": "GIB", "notebooks": "COUNT"}


PER_NOTEBOOK = ("cell", "notebook", "call", "memory_gib")
"""The limits that apply to one notebook (`riddles check` grades notebooks, not submissions)."""


def add_arguments(parser: Any, prefix: str = "", default: Limits = DEFAULT,
                  names: tuple[str, ...] = tuple(FLAGS)) -> None:
    """Add the limit flags (all, or `names`) to an argparse parser (or a pytest option group)."""
    add = getattr(parser, "add_argument", None) or parser.addoption
    for name, flag in FLAGS.items():
        if name not in names:
            continue
        value = getattr(default, name)
        add(f"--{prefix}{flag}", type=type(value), default=value, metavar=METAVAR.get(name, "SECONDS"),
            dest=f"{prefix.replace('-', '_')}{flag.replace('-', '_')}",
            help=f"{HELP_TEXT[name]} (default {value:g})")


def from_arguments(get: Any, prefix: str = "", names: tuple[str, ...] = tuple(FLAGS)) -> Limits:
    """Limits from parsed flags (all, or `names`; the others keep their defaults); `get(dest)`
    returns one flag's value.  ValueError names the flag."""
    values: dict[str, Any] = {}
    for name, flag in FLAGS.items():
        if name not in names:
            continue
        value = get(f"{prefix.replace('-', '_')}{flag.replace('-', '_')}")
        if not 0 < value <= LARGEST[name]:
            raise ValueError(f"--{prefix}{flag} must be positive and at most {LARGEST[name]:g}, not {value:g}")
        values[name] = value if name == "notebooks" else float(value)
    return Limits(**values)
