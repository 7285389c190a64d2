"""Does a riddle defined in a course directory grade alike through every front end?

docs/authoring.md adds `max_network` to a course; these tests follow it with the page's own
code blocks in a fresh `riddles course new`, then grade a right and a wrong answer with the
notebook's check() and test cell in a real kernel, nbgrader autograde (the shipped config),
`riddles check`, `riddles grade`, `pytest --submission` and Gradescope's run_autograder, and
ask for the same per-riddle scores everywhere, with the package's files untouched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from torch import nn

from autograder.core.course_riddles import (
    CourseRiddleError,
    find_course_root,
    loaded_file,
    use_course,
    use_riddle_file,
)
from autograder.core.riddles import RIDDLES
from solutions.course import ASSIGNMENT, nbgrader, scores

from .conftest import ROOT, riddles_cli

PACKAGE = ROOT / "autograder"
DOC = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, re.DOTALL)
SPEC = next(b for b in BLOCKS if b.startswith("# riddles.py"))
CELLS = next(b for b in BLOCKS if "riddle_cells(" in b)
NOTEBOOK = "04-maximum.ipynb"
WRONG = '''
def max_network():
    """min(a, b) = a - ReLU(a - b): exact, but not the riddle's function."""
    class MinNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.diff = nn.Linear(2, 1)
            with torch.no_grad():
                self.diff.weight.copy_(torch.tensor([[1.0, -1.0]]))
                self.diff.bias.zero_()

        def forward(self, x):
            return x[:, 0:1] - torch.relu(self.diff(x))

    return MinNet()
'''
EXPECTED = {"ada": 3.0, "ben": 0.0}  # max_network's score: ada answers right, ben wrong
# (the course's notebook answers only max_network: the package's riddles are graded as missing)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "RIDDLES_COURSE_ROOT"}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(autouse=True)
def _package_riddles_only():  # type: ignore[no-untyped-def]
    """Whatever a test loads, the registry holds the package's riddles only afterwards."""
    yield
    use_riddle_file(None)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    before = _digest(PACKAGE)
    root = tmp_path_factory.mktemp("authoring") / "my-course"
    made = riddles_cli("course", "new", str(root))
    assert made.returncode == 0, made.stderr
    (root / "riddles.py").write_text(SPEC, encoding="utf-8")
    for nb in (root / "source" / ASSIGNMENT).glob("0[123]-*.ipynb"):
        nb.unlink()  # this course grades only the new riddle (keeps the test short)
    made = subprocess.run([sys.executable, "-c", CELLS], check=False, cwd=root, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    released = nbformat.read(root / "assignments" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert "BEGIN SOLUTION" not in json.dumps(released)
    right = re.search(r"riddle_cells\(\"max_network\", '''(.*?)'''", CELLS, re.DOTALL).group(1)  # type: ignore[union-attr]
    right = right.replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", "")
    for student, answer in (("ada", right), ("ben", WRONG)):
        nb = nbformat.read(root / "assignments" / ASSIGNMENT / NOTEBOOK, as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "answer_max_network")
        cell.source = answer.strip("\n")
        (root / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, root / "submitted" / student / ASSIGNMENT / NOTEBOOK)
    yield root
    assert _digest(PACKAGE) == before, "the walkthrough changed a file of autograder/"


def _submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / ASSIGNMENT / NOTEBOOK


def _cli(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.frontends.cli", *args], check=False, cwd=course, env=_env(),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_check_and_the_test_cell_in_a_students_kernel(course: Path) -> None:
    for student, want in EXPECTED.items():
        path = _submitted(course, student)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        checked = next(c for c in nb.cells if c.source.startswith("check(max_network)"))
        said = "".join(o.get("text", "") for o in checked.outputs)
        assert f"{'PASS' if want else 'FAIL'} {want:g}/3" in said, said
        test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_max_network")
        value = next(o for o in test.outputs if o.output_type == "execute_result")["data"]["text/plain"]
        assert float(value) == want


@pytest.mark.slow
def test_nbgrader_autograde_with_the_shipped_config(course: Path) -> None:
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    got = scores(course)
    assert {s: got[s]["test_max_network"] for s in EXPECTED} == EXPECTED


@pytest.mark.slow
def test_riddles_check(course: Path) -> None:
    for student, want in EXPECTED.items():
        proc = _cli(course, "check", str(_submitted(course, student)), "--json")
        assert proc.returncode == (0 if want else 1), proc.stderr
        report = json.loads(proc.stdout)
        assert {r["id"]: r["score"] for r in report["riddles"]} == {"max_network": want}


@pytest.mark.slow
def test_riddles_grade(course: Path) -> None:
    proc = _cli(course, "grade", ".", "--out", "riddles-grades", "--jobs", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(course / "riddles-grades" / "grades.csv", newline="") as f:
        rows = {r["student"]: float(r["max_network"]) for r in csv.DictReader(f)}
    assert rows == EXPECTED
    page = (course / "riddles-grades" / "feedback" / "ben.html").read_text()
    section = page[page.index("<h2>max_network"):].split("</section>")[0]
    assert "wrong about max(a, b)" in section and "min(a, b)" not in section  # drawn against the spec's target


@pytest.mark.slow
def test_pytest_submission(course: Path, tmp_path: Path) -> None:
    for student, want in EXPECTED.items():
        junit = tmp_path / f"{student}.xml"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--submission",
                               str(_submitted(course, student)), f"--junitxml={junit}"],
                              check=False, cwd=course, env=_env(), capture_output=True, text=True, timeout=600)
        assert proc.returncode in (0, 1), proc.stdout[-3000:]  # tests ran (the package's riddles are missing)
        cases = ET.parse(junit).getroot().iter("testcase")
        got = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")} for c in cases}
        assert float(got["max_network"]["score"]) == want, proc.stdout[-3000:]


@pytest.mark.slow
def test_gradescope_bundle_ships_the_course_riddles(course: Path, tmp_path: Path) -> None:
    from .test_gradescope import run_autograder, unpack

    bundle = tmp_path / "autograder.zip"
    proc = _cli(course, "gradescope", "build", "--out", str(bundle), "--timeout", "60")
    assert proc.returncode == 0, proc.stderr
    package = sum(r.points.total for r in RIDDLES.values())  # this process holds the package's riddles only
    assert f"set its autograder points to {package + 3:g}" in proc.stdout  # and max_network's 3
    for student, want in EXPECTED.items():
        root = unpack(bundle, tmp_path / student)
        assert (root / "source" / "course_riddles.py").read_text() == SPEC
        shutil.copy(_submitted(course, student), root / "submission" / NOTEBOOK)
        data = run_autograder(root)
        tests = {t["name"].split(":")[0]: t for t in data["tests"]}
        assert tests["max_network"]["score"] == want, data["output"]


# ---- loading, and what a course riddle file may not do -----------------------------------------
def _course(tmp_path: Path, spec: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "nbgrader_config.py").write_text("")
    (tmp_path / "riddles.py").write_text(spec)
    return tmp_path


def test_the_course_is_found_from_the_working_directory_and_replaced_cleanly(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    course = _course(tmp_path, SPEC)
    (course / "submitted" / "ada").mkdir(parents=True)
    monkeypatch.delenv("RIDDLES_COURSE_ROOT", raising=False)
    assert find_course_root(course / "submitted" / "ada") == course.resolve()
    assert use_course(course) == ["max_network"] and loaded_file() == (course / "riddles.py").resolve()
    assert RIDDLES["max_network"].signature == "max_network()"  # filled in for the instructor
    assert use_riddle_file(None) == [] and "max_network" not in RIDDLES


@pytest.mark.parametrize(("spec", "says"), [
    ("RIDDLES = [\n", "failed to load (line 1): SyntaxError"),
    ("RIDDLES = 3", "must define RIDDLES"),
    (SPEC.replace('id="max_network"', 'id="min_network"'), "'min_network': this id is already a riddle"),
    (SPEC.replace('id="max_network"', 'id="max-network"'), "must be a Python name"),
    (SPEC.replace("budget=2,", "budget=0,"), "budget 0 is below its lower bound 1"),
    (SPEC.replace("bound_reason=", 'bound_reason=" " or '), "needs a reason"),
    (SPEC.replace('Domain("extended", -1024, 1023, arity=2)', 'Domain("huge", 0, 9, arity=2, method="line")'),
     "only be decided by the line analysis"),
])
def test_a_broken_course_file_is_one_line_and_changes_nothing(tmp_path: Path, spec: str, says: str) -> None:
    course = _course(tmp_path, spec)
    before = dict(RIDDLES)
    with pytest.raises(CourseRiddleError, match=re.escape(says)) as e:
        use_course(course)
    assert "\n" not in str(e.value) and str(course / "riddles.py") in str(e.value)
    assert RIDDLES == before


def test_every_front_end_says_so_in_one_line(tmp_path: Path) -> None:
    course = _course(tmp_path, "RIDDLES = [\n")
    nb = tmp_path / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    proc = subprocess.run([sys.executable, "-m", "autograder.frontends.cli", "check", str(nb)], cwd=course, env=_env(),
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("riddles: error: the course riddle file")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_riddle_file_next_to_a_submission_is_not_loaded(tmp_path: Path) -> None:
    """pytest --submission finds the course from where pytest runs, never from the submission."""
    student = _course(tmp_path / "student", "raise SystemExit('the student ran code in the grader')")
    nbformat.write(nbformat.v4.new_notebook(), student / "a.ipynb")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--submission",
                           str(student / "a.ipynb"), "--collect-only", "-q"], cwd=ROOT, env=_env(),
                          check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "ran code in the grader" not in proc.stdout + proc.stderr
    assert "a.ipynb::max_network" not in proc.stdout and "a.ipynb::min_network" in proc.stdout


# ---- what the line analysis needs comes from the spec: any constant label, any period ---------
STEP = '''
from autograder.core.riddles import Domain, Points, Riddle


def _step(x):
    return 3 + 2 * (x >= 0)


def _runs(lo, hi):  # 3 on the negatives, 5 from 0 on: constant labels, not residues mod 2
    return [r for r in ((lo, min(hi, -1), 3, 0), (max(lo, 0), hi, 5, 0)) if r[0] <= r[1]]


RIDDLES = [Riddle(
    id="step_network", title="3 below zero, 5 from zero on", arity=1, target=_step,
    target_text="exactly 3 if x < 0 else 5", rule="exact", activation="relu",
    domains=(Domain("public", -20, 19), Domain("huge", -2**40, 2**40, method="line")),
    lower_bound=2, bound_reason="a step is not affine on either side of one kink (as x < 10)",
    budget=2, points=Points(1, 1), runs=_runs)]
'''


def _step_net(shift: float) -> nn.Module:
    """3 + 2·(ReLU(x + 1 + shift) − ReLU(x + shift)): the step at 0 when shift = 0."""
    hidden, out = nn.Linear(1, 2), nn.Linear(2, 1)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0], [1.0]]))
        hidden.bias.copy_(torch.tensor([1.0 + shift, shift]))
        out.weight.copy_(torch.tensor([[2.0, -2.0]]))
        out.bias.copy_(torch.tensor([3.0]))
    return nn.Sequential(hidden, nn.ReLU(), out).double()  # float64: exact on the whole range


def test_a_one_input_course_riddle_is_decided_on_a_huge_range_by_its_runs(tmp_path: Path) -> None:
    from autograder import check_function

    use_course(_course(tmp_path, STEP))
    right = check_function(lambda: _step_net(0.0), "step_network")
    assert right.status == "pass" and right.score == 2, right.message
    assert "line" in right.verdicts[0].methods  # not enumerated: 2^41 points
    wrong = check_function(lambda: _step_net(1.0), "step_network")
    assert wrong.status == "fail" and wrong.counterexamples[0].input == [-1], wrong.message


def test_the_line_analysis_takes_labels_of_any_period() -> None:
    from autograder.core.capture import capture
    from autograder.core.line import verify_line
    from autograder.core.normal import normal_form

    identity = nn.Linear(1, 1)
    with torch.no_grad():
        identity.weight.fill_(1.0)
        identity.bias.zero_()
    net = normal_form(capture(identity, 1))
    assert verify_line(net, [(0, 2, 0, 1, 3)])[0] == []  # x mod 3 is x on 0..2
    failures, _ = verify_line(net, [(0, 3, 0, 1, 3)])
    assert [(f.input, f.expected) for f in failures] == [(3, 0)]
    assert verify_line(net, [(7, 7, 7, 0)])[0] == []  # a constant label of any size


def test_check_outside_the_course_uses_the_copy_handed_out_with_the_notebooks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autograder import check

    home = tmp_path / "student-home" / "riddles"
    home.mkdir(parents=True)
    (home / "course_riddles.py").write_text(STEP)
    monkeypatch.chdir(home)
    monkeypatch.delenv("RIDDLES_COURSE_ROOT", raising=False)
    monkeypatch.delenv("RIDDLES_GRADING", raising=False)
    result = check(lambda: _step_net(0.0), riddle="step_network", plot=False)
    assert result is not None and result.status == "pass", result


def test_an_edited_course_file_is_read_again(tmp_path: Path) -> None:
    course = _course(tmp_path, SPEC)
    use_course(course)
    assert RIDDLES["max_network"].budget == 2
    (course / "riddles.py").write_text(SPEC.replace("budget=2,", "budget=3,"))
    use_course(course)
    assert RIDDLES["max_network"].budget == 3
