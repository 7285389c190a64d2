"""From a submission's sandboxed runs to its report: merge the notebooks, judge each riddle."""

from __future__ import annotations

from typing import Any

from .checker import judge
from .feedback import feedback_html
from .result import Report, RiddleResult, error
from .riddles import RIDDLES
from .sandbox import ChildRun, parse_lines


def merge_runs(runs: list[dict[str, Any]], riddles: list[str], timeout: float) -> tuple[dict[str, RiddleResult], list[str]]:
    """Each riddle is taken from the first notebook that defines it; notes say what went wrong."""
    captures: dict[str, Any] = {}
    trouble: dict[str, str] = {}
    notes: list[str] = []
    for r in runs:
        if "error" in r:
            notes.append(f"{r['name']}: {r['error']}")
            continue
        run = ChildRun()
        parse_lines(r["lines"], run, set(riddles))
        if r.get("timed_out"):
            notes.append(f"{r['name']}: stopped after {timeout:g} s")
        elif not run.finished:
            notes.append(f"{r['name']}: the notebook's process ended early (exit code {r.get('exit')})")
        if r.get("truncated"):
            notes.append(f"{r['name']}: its output was cut at the size limit")
        notes += [f"{r['name']}: {e}" for e in run.cell_errors[:5]]
        for rid in riddles:
            data = run.captures.get(rid)
            if data is None:
                if rid not in trouble and (r.get("timed_out") or not run.finished):
                    trouble[rid] = f"{r['name']} did not finish before {rid} was captured"
                continue
            if rid not in captures or (captures[rid].get("status") == "missing" and data.get("status") != "missing"):
                captures[rid] = data
    results = {}
    for rid in riddles:
        if rid in captures and not (captures[rid].get("status") == "missing" and rid in trouble):
            results[rid] = judge(RIDDLES[rid], captures[rid])
        elif rid in trouble:
            results[rid] = error(RIDDLES[rid], trouble[rid])
        else:
            results[rid] = judge(RIDDLES[rid], None)
    return results, notes


def judge_runs(student: str, runs: list[dict[str, Any]], riddles: list[str], timeout: float) -> dict[str, Any]:
    """The answer of a grading worker for one submission (plain JSON)."""
    results, notes = merge_runs(runs, riddles, timeout)
    report = Report([results[rid] for rid in riddles], source=student)
    return {"student": student, "report": report.to_json(), "notes": notes[:30],
            "html": feedback_html(student, report, notes)}
