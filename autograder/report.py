"""Render results as plain text (terminals, notebooks) and Markdown (Gradescope, HTML)."""

from __future__ import annotations

import json
import textwrap

from .result import Report, RiddleResult

MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "missing": "MISSING"}


def _neurons_line(r: RiddleResult) -> str:
    v = r.main
    if v is None:
        return ""
    return f"neurons {v.neurons} | proven minimum {v.riddle.lower_bound} | budget {v.riddle.budget}"


def _per_n(r: RiddleResult) -> list[str]:
    if r.riddle.id != "is_even_network" or not r.verdicts:
        return []
    ns = "  n       " + " ".join(f"{v.riddle.n:>3}" for v in r.verdicts)
    nn = "  neurons " + " ".join(f"{v.neurons:>3}" for v in r.verdicts)
    lb = "  minimum " + " ".join(f"{v.riddle.lower_bound:>3}" for v in r.verdicts)
    ok = "  exact   " + " ".join(f"{'yes' if v.exact else 'NO':>3}" for v in r.verdicts)
    return [ns, nn, lb, ok]


def riddle_text(r: RiddleResult, width: int = 88) -> str:
    head = f"{r.riddle.id}: {r.riddle.title}"
    tail = f"{MARK[r.status]} {r.score:g}/{r.max_score:g}"
    lines = [f"{head}{' ' * max(1, width - len(head) - len(tail))}{tail}"]
    lines += textwrap.wrap(r.message, width=width, initial_indent="  ", subsequent_indent="  ")
    if r.verdicts:
        lines.append("  " + _neurons_line(r))
    lines += _per_n(r)
    return "\n".join(lines)


def text(report: Report, width: int = 88) -> str:
    title = f"Riddle report{': ' + report.source if report.source else ''}"
    body = "\n\n".join(riddle_text(r, width) for r in report.results)
    total = f"Total: {report.score:g} / {report.max_score:g}"
    return f"{title}\n{'=' * min(width, len(title))}\n{body}\n\n{total}"


def markdown(r: RiddleResult) -> str:
    """One riddle's report in Markdown (Gradescope test output, HTML feedback)."""
    out = [f"**{MARK[r.status]}** ({r.score:g}/{r.max_score:g}): {r.message}"]
    if r.verdicts:
        out.append("")
        out.append(f"- {_neurons_line(r)}")
    if r.counterexamples:
        out.append("")
        out.append("| input | expected | got |\n|---|---|---|")
        for c in r.counterexamples:
            got = "?" if c.got is None else f"{c.got:.6g}"
            out.append(f"| {', '.join(map(str, c.input))} | {c.expected:g} | {got} |")
    if r.riddle.id == "is_even_network" and r.verdicts:
        out.append("")
        out.append("| n | " + " | ".join(str(v.riddle.n) for v in r.verdicts) + " |")
        out.append("|---|" + "---|" * len(r.verdicts))
        out.append("| neurons | " + " | ".join(str(v.neurons) for v in r.verdicts) + " |")
        out.append("| minimum | " + " | ".join(str(v.riddle.lower_bound) for v in r.verdicts) + " |")
        out.append("| exact | " + " | ".join("yes" if v.exact else "no" for v in r.verdicts) + " |")
    return "\n".join(out)


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)
