"""What a grading worker answers for one submission, as types.

The worker (`submission.judge_runs`) sends plain JSON over a pipe.  `riddles grade`, the
Gradescope runner and the pytest plugin all read it through `Answer.from_json`, which checks its
shape once, so no front end reads the answer by string keys and a malformed answer is one clear
error instead of a KeyError deep in a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PART_STATUSES = ("pass", "fail", "unchecked")
RIDDLE_STATUSES = ("pass", "fail", "error", "missing")


class MalformedAnswer(ValueError):
    """The worker's answer does not have the shape `Answer` describes."""


def _get(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise MalformedAnswer(f"{where} has no {key!r}")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise MalformedAnswer(f"{where}: {key!r} is not {getattr(kind, '__name__', kind)}")
    return value


def _view(data: Any) -> dict[str, Any]:
    for key, kind in (("id", str), ("title", str), ("status", str), ("message", str),
                      ("counterexamples", list), ("figures", list)):
        _get(data, key, kind, "a feedback view")
    return dict(data)


@dataclass(frozen=True)
class Part:
    """One graded size n of a riddle with several (each n of `is_even_network`)."""

    n: int
    status: str  # one of PART_STATUSES
    text: str
    markdown: str

    @classmethod
    def from_json(cls, data: Any) -> Part:
        status = _get(data, "status", str, "a part")
        if status not in PART_STATUSES:
            raise MalformedAnswer(f"a part has status {status!r}")
        return cls(_get(data, "n", int, "a part"), status, _get(data, "text", str, "a part"),
                   _get(data, "markdown", str, "a part"))

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "status": self.status, "text": self.text, "markdown": self.markdown}


@dataclass(frozen=True)
class RiddleAnswer:
    """One riddle's score and its report as every front end shows it."""

    id: str
    status: str  # one of RIDDLE_STATUSES
    score: float
    max_score: float
    text: str
    markdown: str
    parts: tuple[Part, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def part(self, n: int) -> Part | None:
        return next((p for p in self.parts if p.n == n), None)


@dataclass(frozen=True)
class Answer:
    """A submission's grade: per riddle, the notes on running its notebooks, the report as
    stored (`Report.to_json()`, which grades.csv and the per-student JSON are written from)
    and what the feedback page shows (drawn when the outputs are written, not here)."""

    student: str
    riddles: tuple[RiddleAnswer, ...]
    notes: tuple[str, ...]
    report: dict[str, Any]
    views: tuple[dict[str, Any], ...]  # what the feedback page shows (render/html.riddle_view)

    @property
    def score(self) -> float:
        return float(self.report["score"])

    @property
    def max_score(self) -> float:
        return float(self.report["max_score"])

    def riddle(self, rid: str) -> RiddleAnswer | None:
        return next((r for r in self.riddles if r.id == rid), None)

    def to_json(self) -> dict[str, Any]:
        rendered = {r.id: {"text": r.text, "markdown": r.markdown, "parts": [p.to_json() for p in r.parts]}
                    for r in self.riddles}
        return {"student": self.student, "report": self.report, "notes": list(self.notes), "views": list(self.views),
                "rendered": rendered}

    @classmethod
    def from_json(cls, data: Any) -> Answer:
        """The answer a worker sent; MalformedAnswer names the first thing that is wrong."""
        report = _get(data, "report", dict, "the answer")
        rendered = _get(data, "rendered", dict, "the answer")
        riddles = []
        for r in _get(report, "riddles", list, "the report"):
            rid = _get(r, "id", str, "a riddle")
            status = _get(r, "status", str, rid)
            if status not in RIDDLE_STATUSES:
                raise MalformedAnswer(f"{rid} has status {status!r}")
            shown = _get(rendered, rid, dict, "the rendered reports")
            riddles.append(RiddleAnswer(
                rid, status, float(_get(r, "score", (int, float), rid)), float(_get(r, "max_score", (int, float), rid)),
                _get(shown, "text", str, rid), _get(shown, "markdown", str, rid),
                tuple(Part.from_json(p) for p in _get(shown, "parts", list, rid))))
        _get(report, "score", (int, float), "the report")
        _get(report, "max_score", (int, float), "the report")
        notes = tuple(str(n) for n in _get(data, "notes", list, "the answer"))
        return cls(str(_get(data, "student", str, "the answer")), tuple(riddles), notes, report,
                   tuple(_view(v) for v in _get(data, "views", list, "the answer")))
