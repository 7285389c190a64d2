"""From a submission's sandboxed runs to its report: merge the notebooks, judge each riddle."""

from __future__ import annotations

from typing import Any

from .checker import judge
from .feedback import feedback_html
from .report import rendered
from .result import Report, RiddleResult, error
from .riddles import RIDDLES
from .sandbox import ChildRun


def merge_runs(runs: list[tuple[str, ChildRun | str]], riddles: list[str],
               timeout: float) -> tuple[dict[str, RiddleResult], list[str]]:
    """Judge each riddle from the first notebook that defines it.  A run is a ChildRun, or a
    string saying why the notebook could not be run.  Notes say what went wrong where."""
    captures: dict[str, Any] = {}
    source: dict[str, str] = {}  # riddle -> the notebook it is graded from
    trouble: dict[str, str] = {}
    notes: list[str] = []
    for name, run in runs:
        if isinstance(run, str):
            notes.append(f"{name}: {run}")
            continue
        if run.timed_out:
            stop = f"{name} did not finish within {timeout:g} s"
            notes.append(f"{name}: stopped after {timeout:g} s")
        elif not run.finished:
            stop = f"{name}: the notebook's process ended early (exit code {run.exit_code})"
            notes.append(stop)
        else:
            stop = ""
        if run.truncated:
            notes.append(f"{name}: its output was cut at the size limit")
        notes += [f"{name}: {e}" for e in run.cell_errors[:5]]
        for rid in riddles:
            data = run.captures.get(rid)
            if data is None:
                if stop:
                    trouble.setdefault(rid, f"{stop}, before {rid} was captured")
            elif rid not in captures or (captures[rid].get("status") == "missing" and data.get("status") != "missing"):
                captures[rid], source[rid] = data, name
            elif data.get("status") != "missing":
                notes.append(f"{rid} is defined in {source[rid]} and in {name}: graded from {source[rid]}")
    results = {}
    for rid in riddles:
        if rid in captures and not (captures[rid].get("status") == "missing" and rid in trouble):
            results[rid] = judge(RIDDLES[rid], captures[rid])
        elif rid in trouble:
            results[rid] = error(RIDDLES[rid], trouble[rid])
        else:
            results[rid] = judge(RIDDLES[rid], None)
    return results, notes


def judge_runs(student: str, runs: list[tuple[str, ChildRun | str]], riddles: list[str], timeout: float) -> dict[str, Any]:
    """The answer of a grading worker for one submission (plain JSON)."""
    results, notes = merge_runs(runs, riddles, timeout)
    report = Report([results[rid] for rid in riddles], source=student)
    return {"student": student, "report": report.to_json(), "notes": notes[:30],
            "html": feedback_html(student, report, notes),
            "rendered": {rid: rendered(results[rid]) for rid in riddles}}
