"""The results store: one SQLite row per student, written in one transaction per submission.

A row holds the fingerprint of the notebooks it was graded from; a re-run skips students whose
fingerprint is unchanged, so grading resumes where it stopped and never grades twice.  Every
SQLite fault (a full disk, a damaged file) becomes one `StoreError` line; a failed save rolls
back, so the rows already there stay.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.answer import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    student     TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    score       REAL NOT NULL,
    max_score   REAL NOT NULL,
    report      TEXT NOT NULL,
    html        TEXT NOT NULL,
    notes       TEXT NOT NULL,
    seconds     REAL NOT NULL,
    graded_at   REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1,
    views       TEXT NOT NULL DEFAULT ''
);
"""
# `html` holds the page of rows saved before pages were drawn at write time; new rows keep the
# plain data of the page in `views` (render/html.riddle_view) and leave `html` empty.


class StoreError(Exception):
    """The results store cannot be read or written (disk full, damaged file, ...)."""


@contextmanager
def _faults(path: Path, doing: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.DatabaseError as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        hint = ("free some space and run again: the grades saved so far are kept and grading resumes"
                if "full" in why or "disk" in why or "I/O" in why else
                "move it aside to grade from scratch (nothing in it is changed)")
        raise StoreError(f"the results store {path} could not be {doing} ({why}); {hint}") from None


class ResultStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with _faults(path, "opened"):
            self.db = sqlite3.connect(str(path), timeout=60, check_same_thread=False, isolation_level=None)
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                self.db.executescript(SCHEMA)
                columns = {row[1] for row in self.db.execute("PRAGMA table_info(results)")}
                if "views" not in columns:  # a store written by an earlier version
                    self.db.execute("ALTER TABLE results ADD COLUMN views TEXT NOT NULL DEFAULT ''")
                self.db.execute("SELECT student, fingerprint FROM results LIMIT 1").fetchall()
            except sqlite3.DatabaseError:
                self.db.close()
                raise

    def fingerprints(self) -> dict[str, str]:
        with _faults(self.path, "read"):
            return dict(self.db.execute("SELECT student, fingerprint FROM results"))

    def save(self, student: str, fingerprint: str, answer: Answer, seconds: float) -> None:
        with _faults(self.path, "written"):
            self._save(student, fingerprint, answer, seconds)

    def _save(self, student: str, fingerprint: str, answer: Answer, seconds: float) -> None:
        report = answer.report
        with self.db:  # one transaction
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO results (student, fingerprint, score, max_score, report, html, notes, seconds, graded_at,"
                " views) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(student) DO UPDATE SET"
                " fingerprint=excluded.fingerprint, score=excluded.score, max_score=excluded.max_score,"
                " report=excluded.report, html=excluded.html, notes=excluded.notes, seconds=excluded.seconds,"
                " graded_at=excluded.graded_at, views=excluded.views, attempts=results.attempts + 1",
                (student, fingerprint, answer.score, answer.max_score, json.dumps(report),
                 "", json.dumps(list(answer.notes)), seconds, time.time(), json.dumps(list(answer.views))))

    def rows(self) -> list[dict[str, Any]]:
        with _faults(self.path, "read"):
            return self._rows()

    def _rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT student, fingerprint, score, max_score, report, html, notes, seconds,"
                              " attempts, views FROM results ORDER BY student")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def close(self) -> None:
        self.db.close()
