"""Render results as plain text (terminals, notebooks, pytest) and Markdown (Gradescope)."""

from __future__ import annotations

import json
import textwrap

from ..core.answer import Part, RiddleAnswer
from ..core.result import METHOD_TEXT, Report, RiddleResult
from ..core.riddles import instances
from ..core.verify import Counterexample, Verdict, exact_text

MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "missing": "MISSING"}


def _neurons_line(r: RiddleResult) -> str:
    return _verdict_line(r.main) if r.main is not None else ""


def _per_n(r: RiddleResult) -> list[str]:
    if not r.riddle.sizes or not r.verdicts:
        return []
    ns = "  n       " + " ".join(f"{v.riddle.n:>3}" for v in r.verdicts)
    nn = "  neurons " + " ".join(f"{neurons_text(v):>3}" for v in r.verdicts)
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
    tail = ""
    if report.skipped:
        tail += f"\nSkipped ({report.skipped_why}): {', '.join(report.skipped)}"
    if report.notes:
        tail += "\n\nNotes on running the notebook:\n" + "\n".join(
            textwrap.fill(n, width, initial_indent="  - ", subsequent_indent="    ") for n in report.notes)
    return f"{title}\n{'=' * min(width, len(title))}\n{body}\n\n{total}{tail}"


def md_escape(s: str) -> str:
    """Student-controlled text (exception messages, quoted source) shown as text, not markup."""
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]|#":
        s = s.replace(ch, "\\" + ch)
    return s


def _counterexample_table(counterexamples: list[Counterexample]) -> list[str]:
    if not counterexamples:
        return []
    out = ["", "| input | expected | got |", "|---|---|---|"]
    for c in counterexamples:
        out.append(f"| {', '.join(map(str, c.input))} | {exact_text(c.expected)} | {c.got_text()} |")
    return out


def markdown(r: RiddleResult) -> str:
    """One riddle's report in Markdown (Gradescope test output)."""
    out = [f"**{MARK[r.status]}** ({r.score:g}/{r.max_score:g}): {md_escape(r.message)}"]
    if r.verdicts:
        out.append("")
        out.append(f"- {_neurons_line(r)}")
    out += _counterexample_table(r.counterexamples)
    if r.riddle.sizes and r.verdicts:
        out.append("")
        out.append("| n | " + " | ".join(str(v.riddle.n) for v in r.verdicts) + " |")
        out.append("|---|" + "---|" * len(r.verdicts))
        out.append("| neurons | " + " | ".join(neurons_text(v) for v in r.verdicts) + " |")
        out.append("| minimum | " + " | ".join(str(v.riddle.lower_bound) for v in r.verdicts) + " |")
        out.append("| exact | " + " | ".join("yes" if v.exact else "no" for v in r.verdicts) + " |")
    return "\n".join(out)


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)


def neurons_text(v: Verdict) -> str:
    """A verdict's neuron count; '–' for a refused network, which is not counted."""
    return "–" if v.refused else str(v.neurons)


def _verdict_line(v: Verdict) -> str:
    return f"neurons {neurons_text(v)} | proven minimum {v.riddle.lower_bound} | budget {v.riddle.budget}"


def parts(r: RiddleResult) -> list[Part]:
    """One entry per graded instance of a riddle that has several (each n of
    `is_even_network`): its status ("pass", "fail" or "unchecked") and its report as text and
    Markdown.  A riddle with one instance has no parts; its result is the whole story."""
    graded = instances(r.riddle)
    if len(graded) < 2:
        return []
    by_n = {v.riddle.n: v for v in r.verdicts}
    first_bad = next((v for v in r.verdicts if not v.exact), None)
    out: list[Part] = []
    for inst in graded:
        v = by_n.get(inst.n)
        if v is not None and v.exact:
            methods = " and ".join(METHOD_TEXT[m] for m in sorted(v.methods)) or "exact evaluation"
            said = f"Exact on {' and '.join(v.checked)}, checked by {methods}."
            status, table = "pass", []
        elif v is not None:  # the first failing size: the riddle's message is about it
            said, status, table = r.message, "fail", _counterexample_table(v.counterexamples)
        else:
            said = "Not checked: " + (f"{r.riddle.id} already fails at n = {first_bad.riddle.n}, so larger "
                                      "sizes were not checked." if first_bad else r.message)
            out.append(Part(int(inst.n or 0), "unchecked", said, md_escape(said)))
            continue
        out.append(Part(int(inst.n or 0), status, f"{said} {_verdict_line(v)}.",
                        "\n".join([md_escape(said), "", f"- {_verdict_line(v)}", *table])))
    return out


def riddle_answer(r: RiddleResult) -> RiddleAnswer:
    """What every front end shows for one riddle: its score, plain text, Markdown and parts."""
    return RiddleAnswer(r.riddle.id, r.status, r.score, r.max_score, riddle_text(r), markdown(r), tuple(parts(r)))
