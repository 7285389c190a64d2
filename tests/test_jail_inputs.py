"""Inputs the grader must not trust: links, names and notebook fields, each next to good
submissions in one batch that must keep full marks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT, make_notebook, riddles_cli
from .jailkit import FULL, REFERENCE, good, grade, grades

pytestmark = pytest.mark.slow
SECRET_FILE_TEXT = "not-for-students-0d3b"
NON_UTF8 = b"caf\xe9"
FORGED = "evil\n  a_good  3  3  3  3  5  17  17\x1b[2K\x1b[31m"
FORMULA = "=HYPERLINK(\"x\",\"y\")+cmd"


def null_source_notebook(path: Path) -> Path:
    nb = json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(REFERENCE)])))
    nb["cells"].append({"cell_type": "code", "source": None, "metadata": {}, "outputs": [], "execution_count": None})
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("inputs")
    secret = base / "secret.txt"
    secret.write_text(SECRET_FILE_TEXT)
    source = base / "source"
    source.mkdir()
    good(source, "solution")
    cls = base / "class"
    cls.mkdir()
    good(cls, "a_good")
    good(cls, "z_good")
    (cls / "mallory.ipynb").symlink_to(secret)
    (cls / "copycat.ipynb").symlink_to(cls / "a_good.ipynb")
    (cls / "linked_folder").symlink_to(source, target_is_directory=True)
    (cls / "nested").mkdir()
    (cls / "nested" / "answers.ipynb").symlink_to(source / "solution.ipynb")
    good(cls, os.fsdecode(NON_UTF8))
    good(cls, "a b")
    good(cls, "a_b")
    good(cls, FORGED)
    good(cls, FORMULA)
    null_source_notebook(cls / "null_source.ipynb")
    out = base / "out"
    return cls, out, grade(cls, out, "--jobs", "2", "--timeout", "30", "--call-timeout", "10")


def _reports(out: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    found = {}
    for p in (out / "reports").iterdir():
        r = json.loads(p.read_text())
        found[r["student"]] = r
    return found


def test_the_batch_is_graded_without_a_traceback_and_good_submissions_keep_full_marks(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, proc = batch
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    reports = _reports(out)
    for name in ("a_good", "z_good", "a b", "a_b", "caf\\xe9", FORGED, FORMULA):
        assert reports[name]["score"] == FULL, (name, reports[name]["notes"])


@pytest.mark.parametrize("student", ["mallory", "copycat", "linked_folder", "nested"])
def test_a_symlink_is_never_followed(batch, student: str) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = batch
    r = _reports(out)[student]
    assert r["score"] == 0, r
    assert SECRET_FILE_TEXT not in json.dumps(r)
    why = " ".join(r["notes"])
    assert ("symbolic link" in why) or ("no notebook found" in why), why


def test_a_name_that_is_not_utf8_is_graded_under_a_lossless_name(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = batch
    assert float(grades(out)["caf\\xe9"]["total"]) == FULL


def test_names_with_the_same_safe_form_get_distinct_outputs(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = batch
    reports = list((out / "reports").iterdir())
    pages = list((out / "feedback").iterdir())
    assert len(reports) == len(pages) == len(grades(out))
    assert {"a b", "a_b"} <= set(_reports(out))


def test_control_characters_in_names_never_reach_the_terminal(batch) -> None:  # type: ignore[no-untyped-def]
    _, _, proc = batch
    assert "\x1b" not in proc.stdout + proc.stderr
    assert "evil\\x0a" in proc.stdout
    forged = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("a_good")]
    assert len(forged) == 1  # only the real a_good's row


def test_a_formula_in_a_name_is_neutralised_in_the_csv(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = batch
    text = (out / "grades.csv").read_text()
    assert "'=HYPERLINK" in text
    assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines())


def test_a_null_cell_source_is_unusable_input_in_one_line(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = batch
    r = _reports(out)["null_source"]
    assert r["score"] == 0
    assert any("unusable input" in n and "\n" not in n for n in r["notes"]), r["notes"]


def test_riddles_check_says_unusable_input_for_a_null_source(tmp_path: Path) -> None:
    proc = riddles_cli("check", str(null_source_notebook(tmp_path / "nb.ipynb")))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "unusable input" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_nbgrader_preprocessor_says_unusable_input_for_a_null_source() -> None:
    from nbformat import NotebookNode

    from autograder.frontends.nbgrader_plugin import grade_notebook_cells

    test_cell = NotebookNode(cell_type="code", source="", metadata=NotebookNode(
        nbgrader=NotebookNode(grade=True, solution=False, grade_id="test_lt10_relu", points=3)))
    cells = [NotebookNode(cell_type="code", source=None, metadata=NotebookNode()), test_cell]
    from autograder.core.limits import Limits

    results = grade_notebook_cells(cells, limits=Limits(notebook=30, cell=30, call=10))
    assert results["lt10_relu"].score == 0 and "unusable input" in results["lt10_relu"].message


def test_riddles_check_of_a_symlink_is_refused(tmp_path: Path) -> None:
    target = make_notebook(tmp_path / "real.ipynb", REFERENCE)
    (tmp_path / "link.ipynb").symlink_to(target)
    proc = subprocess.run([sys.executable, "-m", "autograder.frontends.cli", "check", str(tmp_path / "link.ipynb")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "symbolic link" in proc.stderr
