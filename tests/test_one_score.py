"""One notebook, one score: every front end grades the same tricky notebooks alike.

The same class of tricky submissions (a slow cell, a syntax error, an endless last cell, a cell
that raises, a riddle redefined after its test cell, a notebook about one riddle only) is
graded through `check()` in a real kernel, `riddles check`, `nbgrader autograde`, `riddles
grade`, `pytest --submission` and Gradescope's `run_autograder`, all with the same short
limits, and every front end must give every riddle the same score (and the score the rule
says).  Also: `nbgrader validate` fails a wrong notebook and passes a right one.
"""

from __future__ import annotations

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
from nbclient import NotebookClient

from autograder.core.limits import Limits
from autograder.core.riddles import RIDDLES
from solutions.course import ASSIGNMENT, copy_course, nbgrader, repo_root, scores
from solutions.submissions import MISTAKES, make_submission, reference_answers

pytestmark = pytest.mark.slow
ROOT = repo_root()
LIMITS = Limits(cell=10, notebook=90, call=10)
FLAGS = ["--cell-timeout", "10", "--timeout", "90", "--call-timeout", "10"]
REF = reference_answers(ROOT / "source" / ASSIGNMENT)
NB1, NB2, NB3 = "01-less-than-ten.ipynb", "02-minimum.ipynb", "03-is-even.ipynb"
SLOW = "import time\ntime.sleep(40)  # far beyond the per-cell limit: interrupted, the run goes on"
ENDLESS = "while True:\n    pass"
SYNTAX = 'def lt10_relu():\n    return nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)\n'
WRONG_RELU = "def lt10_relu():\n    return nn.Identity()  # redefined after its test cell: not graded"
TENT_FOLDS = """def is_even_16_sequential():
    layers, width = [], 1
    for k in (3, 2, 1, 0):   # 8 units, over the budget of 7: exact, with partial efficiency credit
        layer = nn.Linear(width, 2)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([[1.0], [1.0]]) if width == 1 else torch.tensor([[1.0, -2.0]] * 2))
            layer.bias.copy_(torch.tensor([0.0, -(2.0 ** k)]))
        layers += [layer, nn.ReLU()]
        width = 2
    out = nn.Linear(2, 1)
    with torch.no_grad():
        out.weight.copy_(torch.tensor([[1.0, -2.0]]))
        out.bias.zero_()
    return nn.Sequential(*layers, out)"""
PLAIN = RIDDLES["is_even_16_sequential"]
TENT_SCORE = PLAIN.points.exact + PLAIN.points.efficiency * PLAIN.budget / 8

# student -> (notebook, edits, expected score of each riddle the notebook is about)
# edits: (where, grade_id, source): insert a code cell "before"/"after" the cell with grade_id,
# "answer" replaces that answer cell, "end" appends a cell.
CLASS: dict[str, tuple[str, list[tuple[str, str, str]], dict[str, float]]] = {
    "slow": (NB1, [("before", "answer_lt10_relu", SLOW)], {"lt10_sigmoid": 2, "lt10_relu": 3}),
    "syntax": (NB1, [("answer", "answer_lt10_relu", SYNTAX)], {"lt10_sigmoid": 2, "lt10_relu": 0}),
    "endless": (NB1, [("end", "", ENDLESS)], {"lt10_sigmoid": 2, "lt10_relu": 3}),
    "raises": (NB1, [("before", "answer_lt10_sigmoid", "raise RuntimeError('a cell that raises')"),
                     ("answer", "answer_lt10_sigmoid", MISTAKES["answer_lt10_sigmoid"])],
               {"lt10_sigmoid": 0, "lt10_relu": 3}),
    "redefined": (NB1, [("after", "test_lt10_relu", WRONG_RELU),
                        ("after", "test_lt10_sigmoid", REF["answer_lt10_sigmoid"]),
                        ("answer", "answer_lt10_sigmoid", MISTAKES["answer_lt10_sigmoid"])],
                  {"lt10_sigmoid": 0, "lt10_relu": 3}),
    "one": (NB2, [], {"min_network": 3}),
    "plain": (NB3, [("answer", "answer_is_even_16_sequential", TENT_FOLDS)],
              {"is_even_16": 4, "is_even_16_sequential": TENT_SCORE, "is_even_network": 5}),
}


def _edit(nb: nbformat.NotebookNode, edits: list[tuple[str, str, str]]) -> None:
    for where, gid, src in edits:
        if where == "end":
            nb.cells.append(nbformat.v4.new_code_cell(src))
            continue
        i = next(k for k, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
        if where == "answer":
            nb.cells[i].source = src.strip("\n")
        else:
            nb.cells.insert(i if where == "before" else i + 1, nbformat.v4.new_code_cell(src))


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course whose class is the tricky submissions, each student one notebook."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    scratch = tmp_path_factory.mktemp("scratch")
    for student, (name, edits, _) in CLASS.items():
        full = make_submission(course / "assignments" / ASSIGNMENT, scratch / student, REF)
        nb = nbformat.read(full / name, as_version=4)
        _edit(nb, edits)
        dest = course / "submitted" / student / ASSIGNMENT
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    return course


def _notebook(course: Path, student: str) -> Path:
    return course / "submitted" / student / ASSIGNMENT / CLASS[student][0]


def expected() -> dict[str, dict[str, float]]:
    return {s: about for s, (_, _, about) in CLASS.items()}


def _about(per_student: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each student's scores restricted to the riddles their notebook is about; every other
    riddle must have scored 0 (it is not answered anywhere in the submission)."""
    out = {}
    for student, row in per_student.items():
        about = CLASS[student][2]
        assert all(v == 0 for rid, v in row.items() if rid not in about), (student, row)
        out[student] = {rid: row.get(rid, 0.0) for rid in about}
    return out


# ---- the front ends ---------------------------------------------------------------------------
def by_check(course: Path) -> dict[str, dict[str, float]]:
    """check() in a real kernel: the self-check cell before each riddle's test cell, with the
    per-cell limit in the kernel; a self-check that cannot even name its function scores 0."""
    out: dict[str, dict[str, float]] = {}
    for student in CLASS:
        path = _notebook(course, student)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=int(LIMITS.cell), interrupt_on_timeout=True, allow_errors=True,
                       kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        row: dict[str, float] = {}
        cells = nb.cells
        for k, cell in enumerate(cells):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if not gid.startswith("test_"):
                continue
            rid = gid[5:]
            check_cell = next(c for c in reversed(cells[:k]) if c.cell_type == "code" and c.source.startswith("check("))
            text = "".join(o.get("text", "") for o in check_cell.outputs if o.output_type == "stream")
            m = re.search(rf"^{rid}: .* (PASS|FAIL|ERROR|MISSING) ([\d.]+)/", text, flags=re.M)
            row[rid] = float(m.group(2)) if m else 0.0
            # the test cell's visible self-test agrees, and ends with the score
            shown = [o for o in cell.outputs if o.output_type == "execute_result"]
            assert shown and float(shown[0].data["text/plain"]) == row[rid], (student, rid)
        out[student] = row
    return out


def by_riddles_check(course: Path) -> dict[str, dict[str, float]]:
    out = {}
    for student in CLASS:
        proc = subprocess.run([sys.executable, "-m", "autograder.frontends.cli", "check", str(_notebook(course, student)),
                               "--json", *FLAGS], capture_output=True, text=True, timeout=600)
        assert proc.returncode in (0, 1), proc.stderr
        report = json.loads(proc.stdout)
        out[student] = {r["id"]: r["score"] for r in report["riddles"]}
        assert set(report.get("skipped", {}).get("riddles", [])) == set(RIDDLES) - set(out[student])
    return out


@pytest.fixture(scope="module")
def autograded(course: Path) -> Path:
    """The course after `nbgrader autograde` with the short limits."""
    nbgrader(course, "autograde", ASSIGNMENT, f"--Execute.timeout={int(LIMITS.cell)}",
             f"--RiddleScores.timeout={LIMITS.notebook}", f"--RiddleScores.call_timeout={LIMITS.call}")
    return course


def by_nbgrader(course: Path) -> dict[str, dict[str, float]]:
    return {s: {k[5:]: v for k, v in row.items() if k.startswith("test_")} for s, row in scores(course).items()}


def by_riddles_grade(course: Path, out: Path) -> dict[str, dict[str, float]]:
    proc = subprocess.run([sys.executable, "-m", "autograder.frontends.cli", "grade", str(course), "--out", str(out),
                           *FLAGS, "--jobs", "2"], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    result = {}
    for student in CLASS:
        report = json.loads((out / "reports" / f"{student}.json").read_text())
        result[student] = {r["id"]: r["score"] for r in report["riddles"]}
    return result


def by_pytest(course: Path, tmp: Path) -> dict[str, dict[str, float]]:
    out = {}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for student in CLASS:
        junit = tmp / f"{student}.xml"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error",
                               "--submission", str(_notebook(course, student).parent), f"--junitxml={junit}",
                               "--riddles-cell-timeout", "10", "--riddles-timeout", "90",
                               "--riddles-call-timeout", "10"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode in (0, 1), proc.stdout[-3000:]
        cases = ET.parse(junit).getroot().iter("testcase")
        out[student] = {c.get("name") or "": float(p.get("value") or "nan") for c in cases
                        for p in c.iter("property") if p.get("name") == "score"}
    return out


def by_gradescope(course: Path, tmp: Path) -> dict[str, dict[str, float]]:
    out = {}
    script = ROOT / "autograder" / "bundle" / "run_autograder"
    for student in CLASS:
        root = tmp / f"gs-{student}"
        shutil.copytree(_notebook(course, student).parent, root / "submission")
        (root / "source").mkdir()
        config = {"limits": LIMITS.to_json()}
        (root / "source" / "riddles-gradescope.json").write_text(json.dumps(config))
        env = {**os.environ, "RIDDLES_AUTOGRADER_ROOT": str(root), "RIDDLES_PYTHON": sys.executable}
        subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600, check=True)
        results = json.loads((root / "results" / "results.json").read_text())
        # one test per riddle ("number" 1, 2, ...); the parts of is_even_network ("6.n") hold no points
        out[student] = {t["name"].split(":")[0]: t["score"] for t in results["tests"] if "." not in t["number"]}
    return out


def test_every_front_end_gives_every_riddle_the_same_score(autograded: Path, tmp_path: Path) -> None:
    course = autograded
    seen = {
        "check()": by_check(course),
        "riddles check": by_riddles_check(course),
        "nbgrader autograde": _about(by_nbgrader(course)),
        "riddles grade": _about(by_riddles_grade(course, tmp_path / "grades")),
        "pytest --submission": _about(by_pytest(course, tmp_path)),
        "Gradescope run_autograder": _about(by_gradescope(course, tmp_path)),
    }
    for front_end, got in seen.items():
        print(front_end, got)
    for front_end, got in seen.items():
        assert got == expected(), front_end


def test_gradebook_records_what_nbgrader_shows_and_never_overwrites_silently(autograded: Path, tmp_path: Path) -> None:
    """After nbgrader autograde, `riddles grade --gradebook` finds the same scores (nothing to
    write); a grade nbgrader made that differs is kept, and the command says so (exit 1)."""
    course = autograded
    before = scores(course)
    out = tmp_path / "grades"
    cmd = [sys.executable, "-m", "autograder.frontends.cli", "grade", str(course), "--out", str(out), *FLAGS, "--gradebook"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    assert "0 grade(s) written" in proc.stdout and "0 kept as nbgrader graded them" in proc.stdout
    assert scores(course) == before
    # a grade nbgrader made that riddles grade disagrees with is kept and reported
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("test_lt10_relu", "01-less-than-ten", ASSIGNMENT, "slow")
        grade.auto_score = 1.5
        gb.db.commit()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)  # already graded: recorded again
    assert proc.returncode == 1
    assert "slow, 01-less-than-ten, test_lt10_relu: nbgrader's grade 1.5 kept; riddles grade gives 3" in proc.stderr
    assert scores(course)["slow"]["test_lt10_relu"] == 1.5


@pytest.mark.parametrize(("answers", "verdict"), [({}, "VALIDATION FAILED"), ("mistakes", "VALIDATION FAILED"),
                                                   ("reference", "Success! Your notebook passes all the tests.")])
def test_nbgrader_validate_fails_a_wrong_notebook(tmp_path: Path, answers: object, verdict: str) -> None:
    chosen = {"reference": REF, "mistakes": {**REF, **MISTAKES}}.get(str(answers), {})
    folder = make_submission(ROOT / "assignments" / ASSIGNMENT, tmp_path / "mine", chosen)
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(bindir / "nbgrader"), "validate", str(folder / NB2)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert verdict in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
