"""Record `riddles grade` scores in nbgrader's gradebook, through nbgrader's own API,
so that `nbgrader export` and the formgrader show them."""

from __future__ import annotations

import json
from pathlib import Path

from .course import ASSIGNMENT
from .nbgrader_plugin import riddle_of_grade_id, scaled
from .store import ResultStore


class GradebookError(Exception):
    """The course tree has no usable nbgrader gradebook."""


def record_scores(course: Path, store: ResultStore, assignment: str | None = None) -> int:
    """Write each riddle's score into its test cell's auto_score; returns grades written."""
    from nbgrader.api import Gradebook, MissingEntry

    db = course / "gradebook.db"
    if not db.exists():
        raise GradebookError(f"{db} does not exist: run `nbgrader generate_assignment` in the course first")
    written = 0
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
                    if rid in scores:
                        grade.auto_score = scaled(grade.max_score, *scores[rid])
                        grade.needs_manual_grade = False
                        written += 1
            gb.db.commit()
    return written
