"""The grading worker's answer is read in one typed place; a malformed one is one clear error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from autograder.core.answer import Answer, MalformedAnswer
from autograder.core.checker import check_function
from autograder.core.limits import DEFAULT
from autograder.core.riddles import RIDDLES
from autograder.jail.judging import NotebookRun, judge_runs
from solutions import reference


def _answer() -> Answer:
    """An answer as the worker builds it, for a submission whose notebook could not be read."""
    return judge_runs("ada", [NotebookRun("a.ipynb", error="a.ipynb is not a notebook")], list(RIDDLES), DEFAULT)


def test_an_answer_survives_the_pipe_unchanged() -> None:
    answer = _answer()
    again = Answer.from_json(copy.deepcopy(answer.to_json()))
    assert again == answer
    assert [r.id for r in again.riddles] == list(RIDDLES)
    assert again.score == 0 and again.max_score == sum(r.points.total for r in RIDDLES.values())
    assert all(r.status == "missing" and not r.passed for r in again.riddles)
    assert again.notes == ("a.ipynb: a.ipynb is not a notebook",)


def test_parts_of_a_riddle_with_several_sizes_are_typed() -> None:
    from autograder.render.text import riddle_answer

    shown = riddle_answer(check_function(reference.is_even_network, "is_even_network"))
    assert shown.passed and shown.parts and all(p.status == "pass" for p in shown.parts)
    assert shown.part(shown.parts[0].n) is shown.parts[0] and shown.part(10**6) is None


@pytest.mark.parametrize("damage", ["no report", "status", "score", "rendered", "part status", "notes"])
def test_a_malformed_answer_is_one_clear_error(damage: str) -> None:
    data: dict[str, Any] = _answer().to_json()
    rid = data["report"]["riddles"][0]["id"]
    if damage == "no report":
        del data["report"]
    elif damage == "status":
        data["report"]["riddles"][0]["status"] = "great"
    elif damage == "score":
        data["report"]["riddles"][0]["score"] = "3"
    elif damage == "rendered":
        del data["rendered"][rid]
    elif damage == "part status":
        data["rendered"][rid]["parts"] = [{"n": 1, "status": "maybe", "text": "", "markdown": ""}]
    else:
        data["notes"] = "not a list"
    with pytest.raises(MalformedAnswer):
        Answer.from_json(data)


def test_feedback_pages_are_drawn_when_the_outputs_are_written(tmp_path: Path) -> None:
    """The store keeps each riddle's view, not a page: the page is drawn by write_outputs (a
    change of the page needs no regrading), and a row saved with a page of its own keeps it."""
    from autograder.frontends.classgrade import write_outputs
    from autograder.frontends.store import ResultStore

    store = ResultStore(tmp_path / "store" / "results.sqlite")
    answer = judge_runs("ada", [NotebookRun("a.ipynb", error="a.ipynb is not a notebook")], list(RIDDLES), DEFAULT)
    store.save("ada", "fingerprint", answer, 1.0)
    store.db.execute("INSERT INTO results (student, fingerprint, score, max_score, report, html, notes, seconds,"
                     " graded_at) VALUES ('old', 'f', 0, 0, ?, '<p>a page from before</p>', '[]', 1, 0)",
                     (json.dumps(answer.report),))
    write_outputs(store, tmp_path, ["ada", "old"])
    page = (tmp_path / "feedback" / "ada.html").read_text()
    assert all(f"<h2>{rid}:" in page for rid in RIDDLES) and "a.ipynb is not a notebook" in page
    assert (tmp_path / "feedback" / "old.html").read_text() == "<p>a page from before</p>"
    store.close()
