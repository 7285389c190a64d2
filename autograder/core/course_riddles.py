"""Riddles an instructor defines in their own course directory (docs/authoring.md).

A course directory is the folder holding `nbgrader_config.py`.  Its riddles live next to that
file, in `riddles.py`, which lists them in `RIDDLES` (a sequence of `autograder.core.riddles.Riddle`).
`use_course` imports that file by its path and adds its riddles to the one registry
(`autograder.core.riddles.RIDDLES`), so every front end that reads the registry grades them.

Where the course is: `RIDDLES_COURSE_ROOT` when set (nbgrader_config.py uses the same variable),
else the nearest folder, from the working directory up, that holds `nbgrader_config.py` — the
same trust nbgrader gives that folder, whose config it runs.  The course's riddle file is
instructor code: it is loaded in the grader and, before any student code starts, in the
template the jailed notebooks are forked from (`forkserver.py`), never found from a
submission's location.  Each process judges with its own copy of the spec.

A course riddle states its own lower bound and the reason for it; the package does not prove
it (the instructor does), and it refuses a course riddle without a reason.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import riddles as registry
from .riddles import Riddle

RIDDLE_FILE = "riddles.py"
CONFIG_FILE = "nbgrader_config.py"
HANDED_OUT = "course_riddles.py"
"""The riddle file's name next to released notebooks (and in the Gradescope bundle): a student's
kernel outside the course tree finds the course's riddles there."""
BUILTIN: tuple[str, ...] = tuple(registry.RIDDLES)
_loaded: dict[str, Path | None] = {"file": None}
_digest: dict[str, str] = {"file": ""}  # the loaded file's sha256: an edited file is read again


class CourseRiddleError(Exception):
    """A course's riddle file cannot be used (said in one line, with the file's path)."""


def find_course_root(start: Path | None = None) -> Path | None:
    """RIDDLES_COURSE_ROOT, else the nearest folder from `start` (the working directory) up
    that holds nbgrader_config.py; None outside any course."""
    env = os.environ.get("RIDDLES_COURSE_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def riddle_file(root: Path | None) -> Path | None:
    """The course's riddle file, or None when the course has none."""
    if root is None:
        return None
    path = root / RIDDLE_FILE
    return path.resolve() if path.is_file() else None


def loaded_file() -> Path | None:
    """The course riddle file whose riddles are in the registry now (None: only the package's)."""
    return _loaded["file"]


def course_ids() -> list[str]:
    """The ids of the course riddles in the registry now."""
    return [rid for rid in registry.RIDDLES if rid not in BUILTIN]


def fingerprint() -> str:
    """What grades depend on besides the package: the loaded riddle file's bytes ('' for none),
    so that a resumed class grading regrades after the instructor changes a riddle."""
    return _digest["file"]


def _sha256(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def use_course(root: Path | None = None) -> list[str]:
    """Put the riddles of the course at `root` (found by `find_course_root` when None) in the
    registry, replacing any other course's (none: only the package's).  Returns their ids."""
    return use_riddle_file(riddle_file(root if root is not None else find_course_root()))


def in_kernel() -> None:
    """For `check` and the test cells in a student's kernel: load the course found from the
    working directory (the notebook's folder), or the copy handed out with the notebooks
    (`course_riddles.py` in that folder), if there is one; keep the registry otherwise (a jailed
    child has no course folder: its template already holds the course's riddles).  The kernel
    runs the student's code anyway; graders never look next to a notebook."""
    if os.environ.get("RIDDLES_GRADING"):
        return
    path = riddle_file(find_course_root())
    handed_out = Path.cwd() / HANDED_OUT
    if path is None and handed_out.is_file():
        path = handed_out
    if path is not None:
        use_riddle_file(path)


def use_riddle_file(path: Path | None) -> list[str]:
    """Put the riddles of this course riddle file (None: no course) in the registry, replacing
    any other course's.  Returns their ids.  Raises CourseRiddleError for a file that cannot
    be used; the registry is then left as it was."""
    path = path.resolve() if path is not None else None
    digest = _sha256(path)
    if path == _loaded["file"] and digest == _digest["file"]:
        return course_ids()
    specs = _read(path) if path is not None else []
    for rid in [rid for rid in registry.RIDDLES if rid not in BUILTIN]:
        del registry.RIDDLES[rid]
    for spec in specs:
        registry.RIDDLES[spec.id] = spec
    _loaded["file"] = path
    _digest["file"] = digest
    return [spec.id for spec in specs]


def _read(path: Path) -> list[Riddle]:
    name = f"_riddles_course_{abs(hash(str(path)))}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - any failure of the instructor's file, in one line
        sys.modules.pop(name, None)
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        raise CourseRiddleError(f"the course riddle file {path} failed to load{where}: "
                                f"{type(e).__name__}: {e}") from None
    found = getattr(module, "RIDDLES", None)
    if not isinstance(found, Sequence) or isinstance(found, str):
        raise CourseRiddleError(f"{path} must define RIDDLES, a list of autograder.core.riddles.Riddle")
    out: list[Riddle] = []
    for item in found:
        out.append(checked(item, path, [r.id for r in out]))
    return out


def checked(spec: object, path: Path, taken: list[str]) -> Riddle:
    """A course riddle as the package will grade it, or a one-line error saying what is wrong."""
    if not isinstance(spec, Riddle):
        raise CourseRiddleError(f"{path}: RIDDLES holds {type(spec).__name__}, not an autograder.core.riddles.Riddle")
    rid = spec.id
    problem = ""
    if not rid.isidentifier():
        problem = "its id must be a Python name (the student's function is called that)"
    elif rid in BUILTIN or rid in taken:
        problem = "this id is already a riddle"
    elif spec.arity < 1 or not callable(spec.target):
        problem = "it needs an arity of at least 1 and a callable target"
    elif not spec.sizes and not spec.domains:
        problem = "it needs domains (or sizes with at_size)"
    elif spec.sizes and spec.at_size is None:
        problem = "sizes need at_size(n), what depends on n"
    elif not spec.bound_reason.strip():
        problem = ("its lower bound needs a reason (bound_reason): the package states no bound "
                   "it cannot point to a proof of")
    elif spec.rule == "tolerance" and spec.tolerance is None:
        problem = "rule 'tolerance' needs a tolerance"
    elif spec.rule not in ("exact", "tolerance") or spec.activation not in ("relu", "sigmoid"):
        problem = "rule must be 'exact' or 'tolerance' and activation 'relu' or 'sigmoid'"
    if not problem:
        problem = _domain_problem(spec)
    if problem:
        raise CourseRiddleError(f"{path}: riddle {rid!r}: {problem}")
    if not spec.signature:
        spec = replace(spec, signature=f"{rid}(n)" if spec.sizes else f"{rid}()")
    return spec


def _domain_problem(spec: Riddle) -> str:
    graded = registry.instances(spec)
    for inst in graded:
        if inst.budget < inst.lower_bound or inst.lower_bound < 0:
            return f"budget {inst.budget} is below its lower bound {inst.lower_bound}"
        for d in inst.domains:
            if d.arity != spec.arity:
                return f"domain {d.name!r} has arity {d.arity}, the riddle {spec.arity}"
            if d.method == "line" and (spec.arity != 1 or spec.runs is None):
                return f"domain {d.name!r} can only be decided by the line analysis, which needs runs"
    return ""
