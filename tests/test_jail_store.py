"""Faults in the grader's own files: a full disk, a damaged store, deep folders, two runs at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.jail.forkserver import SCRATCH_PREFIX

from .conftest import ROOT, make_notebook
from .jailkit import FULL, REFERENCE, good, grade, grades

pytestmark = pytest.mark.slow
DEEP = ("import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        "open('leaf', 'w').write('x')\nos.chdir('/')")


def _rows(out: Path) -> dict[str, int]:
    con = sqlite3.connect(out / "results.sqlite")
    try:
        return dict(con.execute("SELECT student, attempts FROM results"))
    finally:
        con.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="a small file system for the outputs is mounted as root")
def test_a_full_disk_is_one_line_keeps_the_grades_made_and_the_next_run_resumes(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    for i in range(8):
        good(cls, f"s{i}")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "riddles-test-disk", str(disk)], check=True)
    try:
        out = disk / "out"
        first = grade(cls, out, "--jobs", "1", "--timeout", "30")
        assert first.returncode == 0, first.stderr
        per_student = (out / "results.sqlite").stat().st_size // 8 + 1
        for p in [out / "results.sqlite", out / "results.sqlite-wal", out / "results.sqlite-shm",
                  out / "grades.csv", *(out / "reports").iterdir(), *(out / "feedback").iterdir()]:
            if p.exists():
                p.unlink()
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        filler = disk / "filler"
        with open(filler, "wb") as f:  # leave room for about three students' rows
            f.write(b"\0" * max(0, free - 3 * per_student - 64 * 1024))
        stopped = grade(cls, out, "--jobs", "1", "--timeout", "30")
        assert stopped.returncode in (1, 2), stopped.stdout
        assert "Traceback" not in stopped.stderr
        errors = [ln for ln in stopped.stderr.splitlines() if ln.startswith("riddles: error:")]
        assert len(errors) == 1 and ("full" in errors[0] or "space" in errors[0]), stopped.stderr
        kept = _rows(out) if (out / "results.sqlite").exists() else {}
        filler.unlink()
        again = grade(cls, out, "--jobs", "1", "--timeout", "30")
        assert again.returncode == 0, again.stderr
        assert f"graded {8 - len(kept)}, already graded {len(kept)}" in again.stdout
        rows = _rows(out)
        assert sorted(rows) == [f"s{i}" for i in range(8)] and set(rows.values()) == {1}
        assert all(float(r["total"]) == FULL for r in grades(out).values())
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_damaged_store_is_one_line_and_is_left_as_it_was(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    good(cls, "s0")
    out = tmp_path / "out"
    out.mkdir()
    junk = b"this is not a database " * 200
    (out / "results.sqlite").write_bytes(junk)
    proc = grade(cls, out, "--timeout", "30")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "results store" in proc.stderr
    assert (out / "results.sqlite").read_bytes() == junk


def test_thousands_of_nested_folders_neither_break_cleanup_nor_discovery(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    good(cls, "a_good")
    make_notebook(cls / "deep_scratch.ipynb", DEEP, REFERENCE)
    deep = cls / "deep_folder"
    d = deep
    d.mkdir()
    for _ in range(40):  # as deep as the path length allows a test to build quickly
        d = d / ("d" * 50)
        d.mkdir()
    make_notebook(d / "lost.ipynb", REFERENCE)
    good(cls, "z_good")
    before = {p.name for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith(SCRATCH_PREFIX)}
    out = tmp_path / "out"
    proc = grade(cls, out, "--jobs", "2", "--timeout", "60")
    assert proc.returncode == 0, proc.stderr
    table = grades(out)
    assert float(table["a_good"]["total"]) == float(table["z_good"]["total"]) == FULL
    assert float(table["deep_scratch"]["total"]) == FULL
    assert "deep_folder" in table
    after = {p.name for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith(SCRATCH_PREFIX)}
    assert after <= before  # no jail left behind


def test_two_runs_on_one_output_folder_never_grade_anyone_twice(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    for i in range(4):
        good(cls, f"s{i}")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder.frontends.cli", "grade", str(cls), "--out", str(out), "--jobs", "1",
           "--timeout", "30"]
    first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "results.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    out1, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1
    assert second.returncode == 2 and "another `riddles grade`" in second.stderr
    assert "Traceback" not in second.stderr
    rows = _rows(out)
    assert sorted(rows) == [f"s{i}" for i in range(4)] and set(rows.values()) == {1}


def test_names_that_read_alike_never_take_another_students_name(tmp_path: Path) -> None:
    from autograder.frontends.classgrade import discover

    for folder in ("ada", "ada (2)"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "work.ipynb").write_text("{}")
    (tmp_path / "ada.ipynb").write_text("{}")
    names = [s.student for s in discover(tmp_path)]
    assert sorted(names) == ["ada", "ada (2)", "ada (3)"]
    assert [s.student for s in discover(tmp_path) if s.notebooks[0].parent.name == "ada (2)"] == ["ada (2)"]
