"""The results store: one SQLite row per student, written in one transaction per submission.

A row holds the fingerprint of the notebooks it was graded from; a re-run skips students whose
fingerprint is unchanged, so grading resumes where it stopped and never grades twice.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

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
    attempts    INTEGER NOT NULL DEFAULT 1
);
"""


class ResultStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=60, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def fingerprints(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT student, fingerprint FROM results"))

    def save(self, student: str, fingerprint: str, answer: dict[str, Any], seconds: float) -> None:
        report = answer["report"]
        with self.db:  # one transaction
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO results (student, fingerprint, score, max_score, report, html, notes, seconds, graded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(student) DO UPDATE SET"
                " fingerprint=excluded.fingerprint, score=excluded.score, max_score=excluded.max_score,"
                " report=excluded.report, html=excluded.html, notes=excluded.notes, seconds=excluded.seconds,"
                " graded_at=excluded.graded_at, attempts=results.attempts + 1",
                (student, fingerprint, float(report["score"]), float(report["max_score"]), json.dumps(report),
                 answer.get("html", ""), json.dumps(answer.get("notes", [])), seconds, time.time()))

    def rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT student, fingerprint, score, max_score, report, html, notes, seconds, attempts"
                              " FROM results ORDER BY student")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def close(self) -> None:
        self.db.close()
