"""Scores and results: from verdicts to what a student, a CLI or a gradebook reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .riddles import Riddle
from .verify import Counterexample, Verdict


@dataclass
class RiddleResult:
    """Everything reported about one riddle of one submission."""

    riddle: Riddle
    status: str
    score: float
    message: str
    verdicts: list[Verdict] = field(default_factory=list)
    grid: dict[str, Any] | None = None  # a coarse map of the domain the network fails on (figures)

    @property
    def max_score(self) -> float:
        return self.riddle.points.total

    @property
    def exact(self) -> bool | None:
        return None if not self.verdicts else all(v.exact for v in self.verdicts)

    @property
    def main(self) -> Verdict | None:
        """The verdict to summarise: the first failing one, else the largest n."""
        bad = [v for v in self.verdicts if not v.exact]
        return bad[0] if bad else (self.verdicts[-1] if self.verdicts else None)

    @property
    def neurons(self) -> int | None:
        """The neuron count of the main verdict; None when there is none or it was refused
        (a refused network is not counted)."""
        return self.main.neurons if self.main and not self.main.refused else None

    @property
    def counterexamples(self) -> list[Counterexample]:
        return self.main.counterexamples if self.main else []

    def __repr__(self) -> str:
        return f"RiddleResult({self.riddle.id}: {self.status} {self.score:g}/{self.max_score:g})"

    def to_json(self) -> dict[str, Any]:
        main = self.main
        d: dict[str, Any] = {
            "id": self.riddle.id, "status": self.status, "score": self.score,
            "max_score": self.max_score, "exact": self.exact, "neurons": self.neurons,
            "lower_bound": main.riddle.lower_bound if main else None,
            "budget": main.riddle.budget if main else None,
            "counterexamples": [{"input": c.input, "expected": c.expected, "got": c.got}
                                for c in self.counterexamples],
            "largest_error": main.largest_error if main else None,
            "float_agrees": main.float_agrees if main else None,
            "message": self.message,
        }
        if self.riddle.sizes:
            d["per_n"] = [{"n": v.riddle.n, "exact": v.exact, "neurons": None if v.refused else v.neurons,
                           "lower_bound": v.riddle.lower_bound, "budget": v.riddle.budget}
                          for v in self.verdicts]
        return d


def missing(riddle: Riddle, why: str = "") -> RiddleResult:
    return RiddleResult(riddle, "missing", 0.0, why or f"{riddle.signature} is not defined")


def error(riddle: Riddle, why: str) -> RiddleResult:
    return RiddleResult(riddle, "error", 0.0, why)


def efficiency(verdicts: list[Verdict]) -> float:
    """1 at or under budget; budget/neurons above it (the worst graded instance counts)."""
    ratios = [1.0 if v.neurons <= v.riddle.budget else v.riddle.budget / v.neurons for v in verdicts]
    return min(ratios, default=0.0)


def score(riddle: Riddle, verdicts: list[Verdict]) -> RiddleResult:
    """Score a riddle from its verdicts (one per graded instance) and write the message."""
    refused = next((v for v in verdicts if v.refused), None)
    if refused:
        where = f" (n = {refused.riddle.n})" if refused.riddle.n is not None else ""
        return RiddleResult(riddle, "fail", 0.0, f"Refused{where}: {refusal_text(refused.refused)}.", verdicts)
    if not all(v.exact for v in verdicts):
        return RiddleResult(riddle, "fail", 0.0, _fail_message(riddle, verdicts), verdicts)
    eff = efficiency(verdicts)
    pts = riddle.points.exact + riddle.points.efficiency * eff
    return RiddleResult(riddle, "pass", round(pts, 4), _pass_message(riddle, verdicts, eff), verdicts)


def number_text(value: float | None, other: float | None = None) -> str:
    """A number with enough digits to differ from `other` (1 and 0.99999994 must not both read
    as 1); '?' for no value."""
    if value is None:
        return "?"
    short = str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    if other is None or value == other:
        return short
    other_short = str(int(other)) if float(other).is_integer() and abs(other) < 1e15 else f"{other:.6g}"
    return repr(float(value)) if short == other_short and not float(value).is_integer() else short


def counterexample_text(c: Counterexample) -> str:
    """The exact output where it is known (never a rounding that reads as the target)."""
    return c.text()


CONTROL_FLOW = ("data-dependent Python control flow", "cannot be used as inputs to control flow",
                "Proxy object cannot be iterated")


def refusal_text(reason: str) -> str:
    """A refusal in words a student can act on (the tracer's own wording is not)."""
    if any(marker in reason for marker in CONTROL_FLOW):
        m = re.search(r"\bline (\d+)", reason)
        where = f" (line {m.group(1)})" if m else ""
        return (f"your forward uses a Python `if`/`for` on the input{where} (control flow that depends on "
                "the input); a network must compute the "
                "same operations for every input, so write the choice with ReLUs instead")
    return reason


def _flipped(v: Verdict) -> str:
    """When a 0/1 network is wrong exactly everywhere on the public inputs (its output is
    1 − target): say which way round the riddle wants it."""
    if not v.upside_down:
        return ""
    wants = v.riddle.target_text.removeprefix("exactly ")
    return f"the riddle wants {wants}, and on every public input your network gives the opposite (1 − that)"


def _fail_message(riddle: Riddle, verdicts: list[Verdict]) -> str:
    v = next(v for v in verdicts if not v.exact)
    word = "within the tolerance" if riddle.rule == "tolerance" else "exact"
    where = f" for n = {v.riddle.n}" if v.riddle.n is not None else ""
    dom = v.checked[-1] if v.checked else v.riddle.domains[0].describe()
    count = f" ({'at least ' if v.partial_count else ''}{v.wrong:,} wrong point(s))" if v.wrong else ""
    msg = f"Not {word}{where}: wrong on {dom}{count}"
    if v.counterexamples:
        msg += "; for example " + "; ".join(counterexample_text(c) for c in v.counterexamples[:3])
    msg += "."
    flipped = _flipped(v)
    if flipped:
        msg += f" Upside down: {flipped}."
    if riddle.hint:
        msg += f" {riddle.hint}"
    for note in v.notes:
        msg += f" Note: {clear_note(note)}."
    return msg


def clear_note(note: str) -> str:
    """A note that would contradict itself at six digits ("(1 instead of 1)") says what it means."""
    return re.sub(r"\((\S+) instead of \1\)", r"(a float within rounding of \1, but not equal to it)", note)


METHOD_TEXT = {"enumeration": "enumerating every input", "line": "exact line analysis",
               "regions": "exact analysis of linear regions"}


def _ranges(ns: list[int]) -> str:
    """1, 2, 3, 5 -> '1..3, 5'."""
    parts: list[str] = []
    for n in ns:
        if parts and parts[-1].split("..")[-1] == str(n - 1):
            parts[-1] = f"{parts[-1].split('..')[0]}..{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)


def _pass_message(riddle: Riddle, verdicts: list[Verdict], eff: float) -> str:
    word = "Within the tolerance" if riddle.rule == "tolerance" else "Exact"
    if len(verdicts) > 1:
        last = verdicts[-1]
        ns = _ranges([v.riddle.n or 0 for v in verdicts])
        methods = sorted({METHOD_TEXT[m] for v in verdicts for m in v.methods})
        opt = all(v.neurons <= v.riddle.lower_bound for v in verdicts)
        msg = (f"{word} for every graded n ({ns}), checked by {' and '.join(methods)}. Neurons at "
               f"n = {last.riddle.n}: {last.neurons} (proven minimum {last.riddle.lower_bound}, "
               f"budget {last.riddle.budget})")
        msg += ": optimal at every n." if opt else "."
        over = [v for v in verdicts if v.neurons > v.riddle.budget]
        if over:
            msg += f" Above budget at n = {over[0].riddle.n}: efficiency {eff:.0%}."
        notes = dict.fromkeys(n for v in verdicts for n in v.notes)  # per-n notes, once each
        for note in notes:
            msg += f" Note: {note}."
        return msg
    v = verdicts[0]
    msg = (f"{word} on {' and '.join(v.checked)}. "
           f"Neurons: {v.neurons} (proven minimum {riddle.lower_bound}, budget {riddle.budget})")
    if v.neurons <= riddle.lower_bound:
        msg += ": optimal."
    elif v.neurons <= riddle.budget:
        msg += ": within budget."
    else:
        msg += f": over budget, efficiency credit {eff:.0%}."
    for note in v.notes:
        msg += f" Note: {clear_note(note)}."
    return msg


class Totals:
    """Score, maximum and "all passed" of a list of riddle results (a notebook's report, or a
    course's scoreboard)."""

    results: list[RiddleResult]

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 4)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)

    @property
    def all_pass(self) -> bool:
        return all(r.status == "pass" for r in self.results)


@dataclass
class Report(Totals):
    """All riddle results of one submission."""

    results: list[RiddleResult]
    source: str = ""
    notes: list[str] = field(default_factory=list)  # how the notebook ran (cell errors, limits)
    skipped: list[str] = field(default_factory=list)  # riddles not judged here
    skipped_why: str = ""

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"notebook": self.source, "score": self.score, "max_score": self.max_score,
                             "riddles": [r.to_json() for r in self.results]}
        if self.skipped:
            d["skipped"] = {"riddles": self.skipped, "why": self.skipped_why}
        if self.notes:
            d["notes"] = self.notes
        return d

    def __repr__(self) -> str:
        return f"Report({self.source!r}: {self.score:g}/{self.max_score:g})"


def scaled(points: float, score: float, max_score: float) -> float:
    """A riddle's score as a share of a grade cell's points (nbgrader's test-cell output and
    `riddles grade --gradebook` alike)."""
    return round(points * score / max_score, 4) if max_score else 0.0
