"""Record `riddles grade` scores in nbgrader's gradebook, through nbgrader's own API,
so that `nbgrader export` and the formgrader show them.

Each riddle test cell gets exactly the score nbgrader's own test cell shows for that riddle
(`core.result.scaled`, from the same captured network).  A grade nbgrader made itself is
never silently replaced by a different one: when `nbgrader autograde` already wrote another
score, that score is kept and the disagreement is reported.  Scores this command wrote before
(remembered in the output folder) are updated freely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.result import scaled
from ..jail.plan import riddle_of_grade_id
from .store import ResultStore

ASSIGNMENT = "riddles"  # the assignment of the course this package ships (source/riddles/)

WRITTEN = "gradebook-written.json"


class GradebookError(Exception):
    """The course tree has no usable nbgrader gradebook."""


@dataclass
class GradebookResult:
    written: int = 0  # grades written or updated
    unchanged: int = 0  # grades that already held the same score
    conflicts: list[str] = field(default_factory=list)  # nbgrader's grade kept, differing from ours


def _same(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


def record_scores(course: Path, store: ResultStore, out: Path, assignment: str | None = None) -> GradebookResult:
    """Write each riddle's score into its test cell's auto_score (see module docstring)."""
    from nbgrader.api import Gradebook, MissingEntry

    db = course / "gradebook.db"
    if not db.exists():
        raise GradebookError(f"{db} does not exist: run `nbgrader generate_assignment` in the course first")
    memory_file = out / WRITTEN
    try:
        ours: dict[str, float] = json.loads(memory_file.read_text()) if memory_file.exists() else {}
    except (OSError, ValueError):
        ours = {}
    result = GradebookResult()
    with Gradebook(f"sqlite:///{db}") as gb:
        names = [a.name for a in gb.assignments]
        assignment = assignment or (ASSIGNMENT if ASSIGNMENT in names else (names[0] if len(names) == 1 else None))
        if assignment is None:
            raise GradebookError(f"cannot tell which assignment to record (the gradebook has {names})")
        for row in store.rows():
            student = row["student"]
            scores = {r["id"]: (r["score"], r["max_score"]) for r in json.loads(row["report"])["riddles"]}
            gb.update_or_create_student(student)
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                sub = gb.add_submission(assignment, student)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    rid = riddle_of_grade_id(grade.name)
                    if rid not in scores:
                        continue
                    new = scaled(grade.max_score, *scores[rid])
                    key = f"{student}/{nb.name}/{grade.name}"
                    old = grade.auto_score
                    if old is not None and _same(float(old), new):
                        result.unchanged += 1
                        continue
                    if old is not None and not (key in ours and _same(float(old), ours[key])):
                        result.conflicts.append(
                            f"{student}, {nb.name}, {grade.name}: nbgrader's grade {float(old):g} kept; "
                            f"riddles grade gives {new:g}")
                        continue
                    grade.auto_score = new
                    grade.needs_manual_grade = False
                    ours[key] = new
                    result.written += 1
            gb.db.commit()
    memory_file.write_text(json.dumps(ours, indent=1, sort_keys=True))
    return result
