"""From a submission's sandboxed runs to its report: merge the notebooks, judge each riddle.

Every front end ends here, so the rule of `autograder.jail.plan` is applied once: a riddle is
judged from the capture made at its turn in a notebook that is about it; a notebook stopped
at the whole-notebook limit keeps every capture made before; trouble in a notebook costs only
the riddles whose turn had not come.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.answer import Answer
from ..core.checker import judge
from ..core.limits import Limits
from ..core.result import Report, RiddleResult, error, missing
from ..core.riddles import RIDDLES
from ..render.html import riddle_view
from ..render.text import riddle_answer
from .sandbox import ChildRun

MAX_CELL_NOTES = 20


def printable(text: str, limit: int = 300) -> str:
    """Student-controlled text made safe for a terminal or a log line: control characters
    (escape sequences, carriage returns, NULs) shown as escapes, one line, capped."""
    out = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


@dataclass
class NotebookRun:
    """One notebook of a submission: what it is about, and its sandboxed run (or why there is none)."""

    name: str
    about: list[str] = field(default_factory=list)
    definers: dict[str, list[int]] = field(default_factory=dict)
    run: ChildRun | None = None
    error: str = ""

    def stop(self, limits: Limits) -> str:
        """Why the run ended before its last cell, or ''."""
        if self.run is None:
            return self.error
        if self.run.timed_out:
            return f"stopped at the whole-notebook limit of {limits.notebook:g} s"
        if not self.run.finished:
            return f"its process ended early (exit code {self.run.exit_code})"
        return ""

    def cell_errors(self) -> dict[int, str]:
        """Cell number -> the first error of that cell (escaped)."""
        out: dict[int, str] = {}
        for line in self.run.cell_errors if self.run else []:
            m = re.match(r"cell (\d+): (.*)", line, flags=re.S)
            if m and int(m.group(1)) not in out:
                out[int(m.group(1))] = printable(m.group(2))
        return out


def _why_missing(rid: str, nb: NotebookRun) -> str:
    """`lt10_relu() is not defined`, and the error of the cell that should have defined it."""
    spec = RIDDLES[rid]
    errors = nb.cell_errors()
    failed = [n for n in nb.definers.get(rid, []) if n in errors]
    if failed:
        return f"{spec.signature} is not defined: cell {failed[-1]} failed ({errors[failed[-1]]})"
    return ""


def merge_runs(runs: list[NotebookRun], riddles: list[str],
               limits: Limits) -> tuple[dict[str, RiddleResult], list[str]]:
    """Judge each riddle from the first notebook about it that captured it.  Notes say what
    went wrong where (every failing cell's first error, escaped)."""
    notes: list[str] = []
    for nb in runs:
        stop = nb.stop(limits)
        if stop:
            notes.append(f"{nb.name}: {printable(stop)}")
        if nb.run is not None and nb.run.truncated:
            notes.append(f"{nb.name}: its output was cut at the size limit")
        errors = nb.cell_errors()
        for number in sorted(errors)[:MAX_CELL_NOTES]:
            notes.append(f"{nb.name}: cell {number}: {errors[number]}")
        if len(errors) > MAX_CELL_NOTES:
            notes.append(f"{nb.name}: {len(errors) - MAX_CELL_NOTES} more cells failed")
    results: dict[str, RiddleResult] = {}
    for rid in riddles:
        spec = RIDDLES[rid]
        about = [nb for nb in runs if rid in nb.about or
                 (nb.run is not None and (nb.run.captures.get(rid) or {}).get("status") not in (None, "missing"))]
        if not about:
            results[rid] = missing(spec)
            continue
        captured = [nb for nb in about if nb.run is not None and (nb.run.captures.get(rid) or {}).get("status")
                    not in (None, "missing")]
        if len(captured) > 1:
            notes.append(f"{rid} is defined in {captured[0].name} and in {captured[1].name}: "
                         f"graded from {captured[0].name}")
        nb = captured[0] if captured else about[0]
        data = nb.run.captures.get(rid) if nb.run is not None else None
        if captured:
            results[rid] = judge(spec, data)
        elif data is None and nb.stop(limits):
            results[rid] = error(spec, f"{nb.name}: {printable(nb.stop(limits))}, before the turn of {rid}")
        else:
            result = judge(spec, data)
            why = _why_missing(rid, nb)
            results[rid] = missing(spec, why) if why and result.status == "missing" else result
    return results, notes


def judge_runs(student: str, runs: list[NotebookRun], riddles: list[str], limits: Limits) -> Answer:
    """The answer of a grading worker for one submission."""
    results, notes = merge_runs(runs, riddles, limits)
    report = Report([results[rid] for rid in riddles], source=student)
    return Answer(student, tuple(riddle_answer(results[rid]) for rid in riddles), tuple(notes[:40]),
                  report.to_json(), tuple(riddle_view(r) for r in report.results))


def limits_of(request: dict[str, Any]) -> Limits:
    """The limits a request carries (see `plan.limit_fields`)."""
    return Limits.from_json(request["limits"])


def judge_request(request: dict[str, Any], run_one: Callable[[dict[str, Any]], ChildRun]) -> Answer:
    """Grade a submission's request: each notebook through `run_one` (one sandboxed child
    each), then judge here with the grader's own code."""
    runs: list[NotebookRun] = []
    for nb in request["notebooks"]:
        entry = NotebookRun(nb["name"], list(nb.get("about", [])), dict(nb.get("definers", {})))
        if "error" in nb:
            entry.error = nb["error"]
        else:
            entry.run = run_one({**request, "cells": nb["cells"], "numbers": nb.get("numbers"),
                                 "turns": nb.get("turns", {})})
        runs.append(entry)
    return judge_runs(request["student"], runs, request["riddles"], limits_of(request))
