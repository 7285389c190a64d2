"""`riddles grade` on a class with hostile and broken submissions: isolation, outputs, resuming."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.core.riddles import RIDDLES

from .conftest import ROOT, make_notebook

pytestmark = pytest.mark.slow
FULL = sum(r.points.total for r in RIDDLES.values())
REFERENCE = (ROOT / "solutions" / "reference.py").read_text()
SECRET = "TOP-SECRET-ANSWER-KEY"

HOSTILE: dict[str, list[str]] = {
    "exit": ["import sys\nsys.exit(3)", REFERENCE],
    "os_exit": [REFERENCE, "import os\nos._exit(0)"],
    "kill_self": [REFERENCE, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"],
    "loop": ["while True:\n    pass", REFERENCE],
    "sleepy": ["import time\ntime.sleep(10_000)"],
    "fork_bomb": ["import os\nfor _ in range(200):\n    try:\n        os.fork()\n    except OSError:\n        break\n"
                  "import time\ntime.sleep(10_000)"],
    "memory_bomb": ["x = bytearray(64 * 1024**3)", REFERENCE],
    "huge_network": ["import torch\nfrom torch import nn\ndef is_even_16():\n    return nn.Sequential(nn.Linear(1, 10**8), nn.ReLU(), nn.Linear(10**8, 1))"],
    "nan_weights": ["import torch\nfrom torch import nn\ndef lt10_relu():\n    l = nn.Linear(1, 1)\n    with torch.no_grad():\n"
                    "        l.weight.fill_(float('nan'))\n    return nn.Sequential(l, nn.ReLU())"],
    "inf_weights": ["import torch\nfrom torch import nn\ndef lt10_relu():\n    l = nn.Linear(1, 1)\n    with torch.no_grad():\n"
                    "        l.bias.fill_(float('inf'))\n    return nn.Sequential(l, nn.ReLU())"],
    "patcher": ["import torch, numpy, autograder, autograder.core.checker\ntorch.allclose = lambda *a, **k: True\n"
                "numpy.array_equal = lambda *a, **k: True\nautograder.core.checker.judge = lambda *a, **k: 99\n"
                "autograder.core.checker.capture_riddle = lambda r, f, t=0: {'id': r.id, 'status': 'captured', 'instances': []}"],
    "snoop": ["import glob, os\nfound = []\nfor p in glob.glob('/**/*', recursive=True)[:100000]:\n    pass\n"
              f"for root in ['..', '../..', '/tmp', os.path.expanduser('~')]:\n    for p in glob.glob(root + '/**/*.ipynb', recursive=True):\n"
              f"        try:\n            if '{SECRET}' in open(p).read(): found.append(p)\n        except OSError: pass\n"
              "assert not found, found\nopen('/tmp/riddles-written-by-student', 'w').write('x')"],
    "fake_report": ["import json\nprint(json.dumps({'riddles': [{'id': 'lt10_relu', 'status': 'pass', 'score': 3}]}))\n"
                    "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'{\"type\": \"riddle\", \"id\": \"lt10_relu\", \"data\": {\"status\": \"captured\", \"instances\": []}}\\n')\n"
                    "    except OSError:\n        pass"],
    "prints_megabytes": ["print('x' * (20 * 1024 * 1024))", REFERENCE],
    "missing_functions": ["import torch\nx = 1"],
}
BROKEN_FILES: dict[str, bytes] = {
    "malformed_json": b'{"cells": [',
    "binary_junk": bytes(range(256)) * 100,
    "no_cells": json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}).encode(),
    "old_nbformat": json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": REFERENCE, "language": "python", "outputs": []}]}]}).encode(),
}


def _run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.frontends.cli", "grade", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    cls = tmp_path_factory.mktemp("class")
    for i in range(3):
        make_notebook(cls / f"good{i}.ipynb", REFERENCE)
    secret = cls / "victim"
    secret.mkdir()
    make_notebook(secret / "answers.ipynb", REFERENCE + f"\n# {SECRET}")
    for name, cells in HOSTILE.items():
        make_notebook(cls / f"{name}.ipynb", *cells)
    for name, data in BROKEN_FILES.items():
        (cls / f"{name}.ipynb").write_bytes(data)
    out = tmp_path_factory.mktemp("out")
    proc = _run(str(cls), "--out", str(out), "--jobs", "2", "--timeout", "20", "--call-timeout", "5", "--memory", "3")
    return cls, out, proc


def _grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def _report(out: Path, student: str) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "reports" / f"{student}.json").read_text())


def test_every_submission_is_graded_and_the_run_exits_0(graded) -> None:  # type: ignore[no-untyped-def]
    cls, out, proc = graded
    assert proc.returncode == 0, proc.stderr
    students = {p.stem for p in cls.glob("*.ipynb")} | {"victim"}
    assert set(_grades(out)) == students
    for s in students:
        assert (out / "feedback" / f"{s}.html").exists() and (out / "reports" / f"{s}.json").exists()


def test_well_behaved_submissions_keep_full_scores(graded) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = graded
    for s in ("good0", "good1", "good2", "victim"):
        assert float(_grades(out)[s]["total"]) == FULL, _report(out, s)


@pytest.mark.parametrize("student", sorted(set(HOSTILE) | set(BROKEN_FILES)))
def test_hostile_or_broken_submissions_get_zero_for_what_they_broke_with_a_reason(graded, student) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = graded
    report = _report(out, student)
    expected_full = {"exit": FULL, "memory_bomb": FULL, "prints_megabytes": FULL, "old_nbformat": FULL}
    if student in expected_full:  # the error is confined to one cell; the rest is graded
        assert report["score"] == expected_full[student], report
        return
    if student in ("os_exit", "kill_self"):  # the process dies after its riddles were captured: they count
        assert report["score"] == FULL
        assert any("ended early" in n for n in report["notes"]), report["notes"]
        return
    assert report["score"] == 0, report
    for r in report["riddles"]:
        assert r["message"], r
    text = json.dumps(report)
    reasons = {
        "loop": "stopped at the whole-notebook limit of 20 s", "sleepy": "stopped at the whole-notebook limit",
        "fork_bomb": "stopped at the whole-notebook limit",
        "huge_network": "parameters", "nan_weights": "NaN", "inf_weights": "infinite",
        "patcher": "not defined", "snoop": "", "fake_report": "", "missing_functions": "not defined",
        "malformed_json": "not a readable notebook", "binary_junk": "not UTF-8",
        "no_cells": "not defined", "old_nbformat": "",
    }
    assert reasons[student] in text, text[:2000]


def test_old_nbformat_is_upgraded_and_graded(graded) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = graded
    # nbformat 3 notebooks are converted on reading, so the reference code in one runs
    assert _report(out, "old_nbformat")["score"] == FULL


def test_a_student_cannot_read_another_submission_or_write_outside(graded) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = graded
    notes = " ".join(_report(out, "snoop")["notes"])
    assert SECRET not in notes
    if os.geteuid() == 0:  # jailed: no file of the machine is visible, so nothing is found or written
        assert not Path("/tmp/riddles-written-by-student").exists()


def test_feedback_holds_reports_and_figures_not_code(graded) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = graded
    page = (out / "feedback" / "good0.html").read_text()
    assert "PASS" in page and "<svg" in page and "proven minimum" in page
    assert "def lt10_relu" not in page


def test_rerun_skips_graded_and_regrades_changed_notebooks(graded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cls, out, _ = graded
    nb = nbformat.read(cls / "missing_functions.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REFERENCE))
    nbformat.write(nb, cls / "missing_functions.ipynb")
    proc = _run(str(cls), "--out", str(out), "--jobs", "2", "--timeout", "20", "--call-timeout", "5", "--memory", "3")
    assert "graded 1, already graded" in proc.stdout
    assert float(_grades(out)["missing_functions"]["total"]) == FULL


def test_a_killed_grader_resumes_with_every_submission_graded_exactly_once(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    for i in range(12):
        make_notebook(cls / f"s{i:02d}.ipynb", REFERENCE if i % 2 else "import torch")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder.frontends.cli", "grade", str(cls), "--out", str(out), "--jobs", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    db = out / "results.sqlite"
    deadline = time.monotonic() + 120
    import sqlite3

    while time.monotonic() < deadline:
        if db.exists():
            try:
                n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= 3:
                break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(db)
    done_before = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    con.close()
    assert 3 <= done_before < 12
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert f"graded {12 - done_before}, already graded {done_before}" in again.stdout
    con = sqlite3.connect(db)
    rows = con.execute("SELECT student, attempts FROM results").fetchall()
    assert sorted(s for s, _ in rows) == [f"s{i:02d}" for i in range(12)]
    assert all(a == 1 for _, a in rows)
    scores = dict(con.execute("SELECT student, score FROM results"))
    assert all(scores[f"s{i:02d}"] == (FULL if i % 2 else 0) for i in range(12))


def test_unusable_path_exits_2(tmp_path: Path) -> None:
    proc = _run(str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_grades_can_be_recorded_in_the_nbgrader_gradebook(tmp_path: Path) -> None:
    from solutions.course import ASSIGNMENT, copy_course, nbgrader, scores
    from solutions.submissions import make_submission, reference_answers

    course = copy_course(tmp_path / "course")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    ref = reference_answers(course / "source" / ASSIGNMENT)
    make_submission(course / "assignments" / ASSIGNMENT, course / "submitted" / "ada" / ASSIGNMENT, ref)
    make_submission(course / "assignments" / ASSIGNMENT, course / "submitted" / "ben" / ASSIGNMENT, {})
    proc = _run(str(course), "--out", str(tmp_path / "out"), "--gradebook")
    assert proc.returncode == 0, proc.stderr
    table = scores(course)
    assert sum(v for k, v in table["ada"].items() if k.startswith("test_")) == FULL
    assert sum(v for k, v in table["ben"].items() if k.startswith("test_")) == 0
    nbgrader(course, "export")
    assert ",ada," in (course / "grades.csv").read_text()
