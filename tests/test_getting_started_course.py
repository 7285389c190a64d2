"""A new instructor's course: `riddles course new`, then docs/instructors.md's workflow block,
run line by line as written (real nbgrader, real kernels, a sample class of three)."""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.core.riddles import RIDDLES
from solutions.course import ASSIGNMENT, scores
from solutions.submissions import MISTAKES, make_submission, reference_answers

from .conftest import ROOT

pytestmark = pytest.mark.slow
TOTAL = sum(r.points.total for r in RIDDLES.values())
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RIDDLES_COURSE_ROOT"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _sh(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=1800)


def workflow_block() -> list[str]:
    text = (ROOT / "docs" / "instructors.md").read_text()
    section = text.split("## The workflow", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def setup_block() -> list[str]:
    text = (ROOT / "docs" / "instructors.md").read_text()
    section = text.split("## Your own course directory", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def sample_class(course: Path) -> None:
    """alice: the reference answers; bob: nothing; carol: two riddles wrong."""
    release = course / "assignments" / ASSIGNMENT
    ref = reference_answers(course / "source" / ASSIGNMENT)
    sub = course / "submitted"
    make_submission(release, sub / "alice" / ASSIGNMENT, ref)
    make_submission(release, sub / "bob" / ASSIGNMENT, {})
    make_submission(release, sub / "carol" / ASSIGNMENT,
                    {**ref, "answer_lt10_relu": MISTAKES["answer_lt10_relu"],
                     "answer_is_even_16": MISTAKES["answer_is_even_16"]})


def test_course_new_then_the_documented_workflow(tmp_path: Path) -> None:
    lines = setup_block()
    assert lines[-1].startswith("riddles course new ")
    new = _sh(lines[-1], tmp_path)
    assert new.returncode == 0, new.stderr
    name = shlex.split(lines[-1])[-1]
    course = tmp_path / name
    assert sorted(p.name for p in course.iterdir()) == [".gitignore", "README.md", "nbgrader_config.py", "source"]
    assert sorted(p.name for p in (course / "source" / ASSIGNMENT).glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "source" / ASSIGNMENT).glob("*.ipynb"))
    refused = _sh(lines[-1], tmp_path)
    assert refused.returncode == 2 and "not empty" in refused.stderr and "Traceback" not in refused.stderr

    cwd, ran = tmp_path, []
    for line in workflow_block():
        if line.startswith("#"):
            if "submitted/" in line:
                sample_class(course)
            continue
        command = line.split("  #")[0].strip()
        if command.startswith("cd "):
            cwd = cwd / shlex.split(command)[1]
            continue
        proc = _sh(command, cwd)
        assert proc.returncode == 0, f"{command}:\n{proc.stderr[-3000:]}"
        ran.append(command.split()[:2])
    assert cwd == course
    assert ran == [["nbgrader", "generate_assignment"], ["nbgrader", "autograde"],
                   ["nbgrader", "generate_feedback"], ["nbgrader", "export"], ["riddles", "grade"]]

    released = sorted((course / "assignments" / ASSIGNMENT).glob("*.ipynb"))
    assert len(released) == 3
    for nb in released:
        assert "BEGIN SOLUTION" not in nb.read_text() and "BEGIN HIDDEN TESTS" not in nb.read_text()
    auto = {s: sum(v for k, v in row.items() if k.startswith("test_")) for s, row in scores(course).items()}
    assert auto["alice"] == TOTAL and auto["bob"] == 0
    assert 0 < auto["carol"] < TOTAL
    for student in ("alice", "bob", "carol"):
        pages = list((course / "feedback" / student / ASSIGNMENT).glob("*.html"))
        assert len(pages) == 3
        assert not any("riddle_test(" in p.read_text() for p in pages)
    with open(course / "grades.csv") as f:
        exported = {row["student_id"] for row in csv.DictReader(f)}
    assert exported == {"alice", "bob", "carol"}
    with open(course / "riddles-grades" / "grades.csv") as f:
        ours = {row["student"]: float(row["total"]) for row in csv.DictReader(f)}
    assert ours == pytest.approx(auto)

    # the .gitignore keeps every student's work and grade out of version control
    assert _sh("git init -q . && git add -A", course).returncode == 0
    tracked = _sh("git ls-files", course).stdout.split()
    assert not [t for t in tracked if t.startswith(("submitted/", "autograded/", "feedback/", "riddles-grades/"))
                or t in ("gradebook.db", "grades.csv")], tracked
    assert "nbgrader_config.py" in tracked and any(t.startswith("assignments/") for t in tracked)


def test_course_new_says_what_to_do_without_a_checkout(tmp_path: Path) -> None:
    """From a folder that is not a checkout, --from fails with one line (no traceback)."""
    proc = _sh(f"riddles course new c --from {shlex.quote(str(tmp_path))}", tmp_path)
    assert proc.returncode == 2 and "not a neuron-riddles checkout" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "c").exists()
    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / "01-less-than-ten.ipynb", as_version=4)
    assert any("BEGIN SOLUTION" in c.source for c in nb.cells)  # what the course copies is the master
