"""The small parts of getting started: PyTorch mistakes explained, the scoreboard's rules,
`riddles start` and `riddles check DIR` on odd input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from autograder.core.mistakes import explain
from autograder.core.result import Report, error, missing
from autograder.core.riddles import RIDDLES
from autograder.frontends.notebook import check
from autograder.frontends.start import StartRefused, start
from autograder.render.scoreboard import combine, course_notebooks, page, text

from .conftest import make_notebook, reference_cells, riddles_cli


# ---- the mistakes a student makes setting weights by hand -----------------------------------
def assign_a_tensor() -> nn.Module:
    layer = nn.Linear(1, 1)
    layer.weight = torch.tensor([[1.0]])  # type: ignore[assignment]
    return layer


def copy_outside_no_grad() -> nn.Module:
    layer = nn.Linear(1, 1)
    layer.weight.copy_(torch.tensor([[1.0]]))
    return layer


def set_one_entry() -> nn.Module:
    layer = nn.Linear(1, 2)
    layer.weight[0, 0] = 3.0
    return layer


def integer_parameter() -> nn.Module:
    layer = nn.Linear(1, 1)
    layer.weight = nn.Parameter(torch.tensor([[1]]))
    return layer


def wrong_shape() -> nn.Module:
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0]]))
    return layer


def mixed_dtypes() -> nn.Module:
    return nn.Sequential(nn.Linear(1, 1).double(), nn.ReLU(), nn.Linear(1, 1))


@pytest.mark.parametrize(("fn", "says"), [
    (assign_a_tensor, "plain tensor was assigned"),
    (copy_outside_no_grad, "outside `torch.no_grad()`"),
    (set_one_entry, "outside `torch.no_grad()`"),
    (integer_parameter, "integer tensor"),
    (wrong_shape, "wrong shape"),
    (mixed_dtypes, "Float32 and float64 are mixed"),
])
def test_check_explains_a_pytorch_mistake(fn, says: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """The real error PyTorch raises is recognised, and the idiom is shown (score unchanged)."""
    result = check(fn, riddle="lt10_relu", plot=False)
    out = capsys.readouterr().out
    assert result is not None and result.score == 0 and result.status in ("error", "fail")
    assert says in out and "with torch.no_grad():" in out and "copy_(" in out
    assert result.message in out.replace("\n  ", " ") or result.message[:40] in out.replace("\n  ", " ")


def test_an_ordinary_failure_gets_no_pytorch_lecture(capsys: pytest.CaptureFixture[str]) -> None:
    def lt10_relu() -> nn.Module:
        return nn.Sequential(nn.Linear(1, 1), nn.ReLU())

    result = check(lt10_relu, plot=False)
    assert result is not None and result.status == "fail"
    assert "What went wrong" not in capsys.readouterr().out
    assert explain("lt10_relu() raised ValueError: my own message") is None


# ---- the scoreboard -------------------------------------------------------------------------
def _report(name: str, **status: str) -> Report:
    results = []
    for rid, spec in RIDDLES.items():
        if status.get(rid) == "unanswered":
            results.append(missing(spec, f"{spec.signature}: not implemented yet"))
        elif status.get(rid) == "error":
            results.append(error(spec, f"{spec.signature} raised <b>boom</b>"))
        else:
            results.append(missing(spec))
    return Report(results, source=name)


def test_each_riddle_comes_from_the_notebook_that_defines_it() -> None:
    board = combine("course", [("a.ipynb", _report("a", lt10_relu="unanswered")),
                               ("b.ipynb", _report("b", lt10_relu="error", min_network="unanswered")),
                               ("c.ipynb", _report("c", min_network="error"))])
    by = {r.riddle.id: r for r in board.results}
    assert [r.riddle.id for r in board.results] == list(RIDDLES)
    assert by["lt10_relu"].status == "error" and board.sources["lt10_relu"] == "b.ipynb"
    assert by["min_network"].status == "error" and board.sources["min_network"] == "c.ipynb"
    assert by["is_even_16"].message == missing(RIDDLES["is_even_16"]).message and "is_even_16" not in board.sources
    assert board.score == 0 and not board.all_pass


def test_a_riddle_answered_twice_is_noted() -> None:
    board = combine("course", [("a.ipynb", _report("a", lt10_relu="error")),
                               ("b.ipynb", _report("b", lt10_relu="error"))])
    assert board.sources["lt10_relu"] == "a.ipynb"
    assert board.notes == ["lt10_relu is defined in a.ipynb and in b.ipynb: scored from a.ipynb"]
    assert "note: lt10_relu is defined in a.ipynb and in b.ipynb" in text(board)


def test_the_page_escapes_what_it_did_not_write() -> None:
    board = combine("<script>x</script>", [("<i>.ipynb", _report("a", lt10_relu="error"))], ["<b>note</b>"])
    html = page(board)
    assert "<script>x" not in html and "<b>boom" not in html and "<i>.ipynb" not in html and "<b>note" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;b&gt;boom&lt;/b&gt;" in html


def test_checkpoints_and_hidden_folders_are_not_notebooks(tmp_path: Path) -> None:
    for rel in ("b.ipynb", "a/c.ipynb", ".ipynb_checkpoints/b-checkpoint.ipynb", ".hidden/d.ipynb", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    assert [p.relative_to(tmp_path).as_posix() for p in course_notebooks(tmp_path)] == ["a/c.ipynb", "b.ipynb"]


# ---- riddles start, riddles check DIR -------------------------------------------------------
def test_start_writes_nothing_when_it_refuses(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine")
    with pytest.raises(StartRefused, match="README.md"):
        start(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
    written = start(tmp_path / "new")
    assert {p.name for p in written} == {"01-less-than-ten.ipynb", "02-minimum.ipynb", "03-is-even.ipynb",
                                         "README.md", "theory.md"}


@pytest.mark.slow
def test_check_dir_on_odd_folders(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = riddles_cli("check", str(empty))
    assert proc.returncode == 2 and "no notebooks" in proc.stderr and "Traceback" not in proc.stderr
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "broken.ipynb").write_text("not json")
    make_notebook(mixed / "good.ipynb", *reference_cells())
    proc = riddles_cli("check", str(mixed), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["score"] == data["max_score"] and data["notes"][0].startswith("broken.ipynb: ")
    assert set(data["sources"].values()) == {"good.ipynb"}
    proc = riddles_cli("check", str(mixed), "--html", str(tmp_path / "no" / "such" / "dir.html"))
    assert proc.returncode == 2 and "cannot write" in proc.stderr and "Traceback" not in proc.stderr
