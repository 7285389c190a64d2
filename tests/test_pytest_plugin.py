"""The pytest plugin, run by pytester in real pytest subprocesses on real notebooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.core.riddles import IS_EVEN_NS, RIDDLES
from solutions.submissions import MISTAKES, make_submission, reference_answers

from .conftest import ROOT, make_notebook, riddles_cli

pytestmark = pytest.mark.slow
ANSWERS = reference_answers(ROOT / "source" / "riddles")
RELEASE = ROOT / "assignments" / "riddles"
N_TESTS = len(RIDDLES) + sum(len(r.sizes) for r in RIDDLES.values())  # one per riddle, one per graded size
FULL = sum(r.points.total for r in RIDDLES.values())


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=600)


def test_without_submission_a_test_run_is_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_one():\n    assert 1 + 1 == 2\n")
    result = run(pytester, "--collect-only", "-q")
    assert "test_one.py::test_one" in result.stdout.str()
    assert "lt10_relu" not in result.stdout.str()
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "neuron-riddles:" not in result.stdout.str()  # no summary section


def test_loading_the_plugin_imports_no_grader() -> None:
    code = ("import sys, autograder.frontends.pytest_plugin\n"
            "heavy = [m for m in ('torch', 'numpy', 'autograder.core.checker') if m in sys.modules]\n"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_one_test_per_riddle_and_per_graded_n(pytester: pytest.Pytester) -> None:
    nb = make_notebook(pytester.path / "nb.ipynb", "x = 1")
    out = run(pytester, "--submission", str(nb), "--collect-only", "-q").stdout.str()
    for rid in RIDDLES:
        assert f"nb.ipynb::{rid}" in out
    for n in IS_EVEN_NS:
        assert f"nb.ipynb::is_even_network[n={n}]" in out
    assert f"{N_TESTS} tests collected" in out


def test_a_correct_submission_passes_everything(pytester: pytest.Pytester) -> None:
    sub = make_submission(RELEASE, pytester.path / "repo", ANSWERS)
    result = run(pytester, "--submission", str(sub), f"--junitxml={pytester.path / 'junit.xml'}")
    result.assert_outcomes(passed=N_TESTS)
    assert f"neuron-riddles: {FULL:g} / {FULL:g} points" in result.stdout.str()
    cases = ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    scores = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")} for c in cases}
    assert float(scores["lt10_relu"]["score"]) == RIDDLES["lt10_relu"].points.total


def test_failures_carry_the_riddle_report_not_a_traceback(pytester: pytest.Pytester) -> None:
    sub = make_submission(RELEASE, pytester.path / "repo", {**ANSWERS, **MISTAKES})
    result = run(pytester, "--submission", str(sub), "-rs")
    parts = len(IS_EVEN_NS)
    result.assert_outcomes(failed=len(RIDDLES) + 1, skipped=parts - 1)
    out = " ".join(result.stdout.str().split())  # reports are wrapped to the terminal
    assert "f(10) = 0.5" in out  # lt10_sigmoid's counterexample
    assert "Refused" in out and "proven minimum" in out
    assert "Not checked: is_even_network already fails at n = 1" in out
    assert "Traceback" not in out and "RiddleFailed" not in out and "pytest_plugin.py" not in out
    assert "SKIPPED [21] repo: Not checked" in out
    assert f"neuron-riddles: 0 / {FULL:g} points" in out
    assert "SkipConnection at cell" in out  # is_even_16_sequential's residual fold, with its place


def test_selection_grades_only_the_selected_riddle(pytester: pytest.Pytester) -> None:
    sub = make_submission(RELEASE, pytester.path / "repo", {**ANSWERS, **MISTAKES})
    result = run(pytester, "--submission", str(sub), "-k", "lt10_relu")
    result.assert_outcomes(failed=1, deselected=N_TESTS - 1)
    out = result.stdout.str()
    assert "neuron-riddles: 0 / 3 points" in out  # only lt10_relu was graded


def test_a_notebook_that_hangs_or_crashes_fails_with_the_reason(pytester: pytest.Pytester) -> None:
    nb = make_notebook(pytester.path / "hang.ipynb", "while True:\n    pass")
    result = run(pytester, "--submission", str(nb), "--riddles-timeout", "5", "-k", "lt10_relu or min_network")
    result.assert_outcomes(failed=2, deselected=N_TESTS - 2)
    # the riddles were never defined; the notes say the notebook was stopped at the limit
    assert "hang.ipynb: stopped at the whole-notebook limit of 5 s" in result.stdout.str()


def test_inside_a_project_only_the_submission_is_collected_and_passes_under_W_error(pytester: pytest.Pytester) -> None:
    """Run from a repository with its own tests and `filterwarnings = error` (like this one):
    --submission collects the submission only, and a right notebook passes with warnings as
    errors (no unclosed pipes left by the grader)."""
    pytester.makeini("[pytest]\ntestpaths = tests\nfilterwarnings =\n    error\n")
    tests = pytester.mkpydir("tests")
    (tests / "test_project.py").write_text("def test_project():\n    raise AssertionError('must not run')\n")
    sub = make_submission(RELEASE, pytester.path / "work", ANSWERS)
    result = run(pytester, "--submission", str(sub), "-W", "error")
    result.assert_outcomes(passed=N_TESTS)
    assert "test_project" not in result.stdout.str()
    collected = run(pytester, "--submission", str(sub), "--collect-only", "-q").stdout.str()
    assert f"{N_TESTS} tests collected" in collected and "test_project" not in collected


def test_bad_usage_is_one_clear_line(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run(pytester, "--submission", str(tmp_path / "missing.ipynb"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--submission" in result.stderr.str() and "no such file" in result.stderr.str()
    (tmp_path / "notes.txt").write_text("hello")
    result = run(pytester, "--submission", str(tmp_path / "notes.txt"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "not a notebook" in result.stderr.str()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(pytester, "--submission", str(empty), "-k", "lt10_relu")
    result.assert_outcomes(failed=1, deselected=N_TESTS - 1)
    assert "no notebook (.ipynb) found" in result.stdout.str()


def test_scores_equal_riddles_grade_scores(pytester: pytest.Pytester, tmp_path: Path) -> None:
    answers = {**ANSWERS, **{k: v for k, v in MISTAKES.items() if "is_even" in k or "sigmoid" in k}}
    sub = make_submission(RELEASE, tmp_path / "class" / "mixed", answers)
    out = tmp_path / "out"
    proc = riddles_cli("grade", str(tmp_path / "class"), "--out", str(out), "--timeout", "30")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "reports" / "mixed.json").read_text())
    run(pytester, "--submission", str(sub), f"--junitxml={pytester.path / 'junit.xml'}")
    cases = ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    scores = {c.get("name"): float(p.get("value") or "nan") for c in cases for p in c.iter("property")
              if p.get("name") == "score"}
    assert scores == {r["id"]: r["score"] for r in report["riddles"]}
    assert 0 < sum(scores.values()) < FULL


def test_a_fake_grader_in_the_students_repo_is_not_run(pytester: pytest.Pytester) -> None:
    """The grading worker starts with `python -I`: a repo's own `autograder/` is not on its path."""
    fake = pytester.path / "autograder"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    riddles = [{"id": rid, "status": "pass", "score": r.points.total, "max_score": r.points.total}
               for rid, r in RIDDLES.items()]
    answer = {"report": {"score": FULL, "max_score": FULL, "riddles": riddles}, "notes": [],
              "rendered": {rid: {"text": "forged", "markdown": "", "parts": []} for rid in RIDDLES}}
    (fake / "forkserver.py").write_text(
        "import json, sys\nprint(json.dumps({'ready': True}), flush=True)\n"
        f"for line in sys.stdin:\n    print(json.dumps({answer!r}), flush=True)\n")
    nb = make_notebook(pytester.path / "nb.ipynb", "x = 1")
    # as a student's CI runs it: the `pytest` script (no cwd on sys.path), in the repo, no PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(Path(sys.executable).parent / "pytest"), "-p", "no:cacheprovider", "--submission",
                           str(nb), "-k", "lt10_relu"], cwd=pytester.path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout[-3000:]
    assert "not defined" in proc.stdout and "forged" not in proc.stdout


OVER_BUDGET = '''
import torch
from torch import nn

def lt10_relu():
    net = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[-1.0], [-1.0], [0.0]]))
        net[0].bias.copy_(torch.tensor([10.0, 9.0, 0.0]))
        net[2].weight.copy_(torch.tensor([[1.0, -1.0, 0.0]]))
        net[2].bias.zero_()
    return net
'''


def test_full_points_option_fails_an_exact_network_over_budget(pytester: pytest.Pytester) -> None:
    nb = make_notebook(pytester.path / "nb.ipynb", OVER_BUDGET)
    plain = run(pytester, "--submission", str(nb), "-k", "lt10_relu")
    plain.assert_outcomes(passed=1, deselected=N_TESTS - 1)
    strict = run(pytester, "--submission", str(nb), "-k", "lt10_relu", "--riddles-full-points")
    strict.assert_outcomes(failed=1, deselected=N_TESTS - 1)
    out = " ".join(strict.stdout.str().split())
    assert "over budget" in out and "short of all its points" in out


def test_the_documented_classroom_commands_grade_a_student_repo(tmp_path: Path) -> None:
    """Every `command:` of the workflow in docs/github-classroom.md, run as the workflow runs it
    (the `pytest` script, in the repository): exit 0 for a right answer, 1 for a wrong one."""
    doc = (ROOT / "docs" / "github-classroom.md").read_text()
    commands = [line.split("command:", 1)[1].strip() for line in doc.splitlines()
                if line.strip().startswith("command: pytest")]
    assert len(commands) >= 2
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    bin_dir = Path(sys.executable).parent
    for answers, expected, rigged in ((ANSWERS, 0, False), ({**ANSWERS, **MISTAKES}, 1, False),
                                      ({**ANSWERS, **MISTAKES}, 1, True)):
        repo = make_submission(RELEASE, tmp_path / f"repo-{expected}-{rigged}", answers)
        if rigged:  # the student's own pytest configuration loads a plugin that passes every test
            (repo / "pytest.ini").write_text("[pytest]\npythonpath = .\naddopts = -p helpers\n")
            (repo / "helpers.py").write_text(
                "import pytest\n\n@pytest.hookimpl(wrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
                "    report = yield\n    report.outcome = 'passed'\n    return report\n")
        for command in commands:
            argv = command.split()
            proc = subprocess.run([str(bin_dir / argv[0]), *argv[1:]], cwd=repo, env=env, capture_output=True,
                                  text=True, timeout=600)
            assert proc.returncode == expected, (command, proc.stdout[-2000:])
