"""The Gradescope bundle: built by the CLI, unpacked into a root laid out like /autograder,
run by its own run_autograder on good, bad, broken and hostile submissions.  Every
results.json is validated against a schema written from Gradescope's specification."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest

from autograder.core.riddles import IS_EVEN_NS, RIDDLES
from autograder.frontends.gradescope import CONFIG_NAME, PACKAGE_DIR, package_files
from solutions.submissions import MISTAKES, make_submission, reference_answers

from .conftest import ROOT, make_notebook, riddles_cli
from .test_grade import HOSTILE

pytestmark = pytest.mark.slow
SCHEMA = json.loads((ROOT / "tests" / "data" / "gradescope-results.schema.json").read_text())
FULL = sum(r.points.total for r in RIDDLES.values())
N_TESTS = len(RIDDLES) + sum(len(r.sizes) for r in RIDDLES.values())  # one per riddle, one per graded size
REFERENCE = (ROOT / "solutions" / "reference.py").read_text()
ANSWERS = reference_answers(ROOT / "source" / "riddles")
RELEASE = ROOT / "assignments" / "riddles"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    proc = riddles_cli("gradescope", "build", "--out", str(out), "--timeout", "20", "--call-timeout", "5",
                       "--memory", "3")
    assert proc.returncode == 0, proc.stderr
    assert f"set its autograder points to {FULL:g}" in proc.stdout
    return out


def unpack(bundle: Path, root: Path) -> Path:
    """Lay out `root` as Gradescope does: source/ = the zip, run_autograder copied to the root."""
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def run_autograder(root: Path, python: str = sys.executable) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "RIDDLES_AUTOGRADER_ROOT": str(root), "RIDDLES_PYTHON": python}
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data


def riddle_tests(data: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {t["name"].split(":")[0]: t for t in data["tests"] if "," not in t["name"].split(":")[0]}


def check_consistent(data: dict) -> None:  # type: ignore[type-arg]
    """The invariants of every graded results.json: all riddles and parts, scores add up."""
    assert len(data["tests"]) == N_TESTS
    tests = riddle_tests(data)
    assert list(tests) == list(RIDDLES)
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
    assert sum(t["max_score"] for t in data["tests"]) == FULL
    for rid, t in tests.items():
        assert t["max_score"] == RIDDLES[rid].points.total
        assert (t["status"] == "passed") == t["output"].startswith("**PASS**"), t
        assert t["output"] and t["output_format"] == "md" and t["visibility"] == "visible"
    parts = [t for t in data["tests"] if t["name"].startswith("is_even_network, n = ")]
    assert [int(t["number"].split(".")[1]) for t in parts] == list(IS_EVEN_NS)
    assert all(t["max_score"] == 0 and t["score"] == 0 for t in parts)


def test_the_bundle_has_what_gradescope_needs_and_is_reproducible(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        modes = {i.filename: (i.external_attr >> 16) for i in zf.infolist()}
        config = json.loads(zf.read(CONFIG_NAME))
        shipped = {n: zf.read(n) for n in names if n.startswith("package/autograder/")}
    assert {"setup.sh", "run_autograder", CONFIG_NAME, "package/pyproject.toml"} <= set(names)
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert config["limits"]["notebook"] == 20 and config["torch_index"].startswith("https://download.pytorch.org/")
    # the package ships exactly as installed here
    here = {f"package/{p.relative_to(PACKAGE_DIR.parent).as_posix()}": p.read_bytes() for p in package_files()}
    assert shipped == here
    again = tmp_path / "again.zip"
    assert riddles_cli("gradescope", "build", "--out", str(again), "--timeout", "20", "--call-timeout", "5",
                       "--memory", "3").returncode == 0
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(bundle.read_bytes()).digest()


@pytest.mark.parametrize("args", [["--timeout", "-1"], ["--memory", "0"]])
def test_bad_build_settings_get_a_one_line_error(args: list[str], tmp_path: Path) -> None:
    proc = riddles_cli("gradescope", "build", "--out", str(tmp_path / "x.zip"), *args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("riddles: error:") and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.zip").exists()


def test_a_correct_submission_gets_full_marks(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    make_submission(RELEASE, root / "submission", ANSWERS)
    data = run_autograder(root)
    check_consistent(data)
    assert data["score"] == FULL
    assert all(t["status"] == "passed" for t in data["tests"])
    assert "Notes" not in data["output"]  # the released notebooks run cleanly in the jail
    assert "01-less-than-ten.ipynb" in data["output"] and data["execution_time"] > 0


def test_mistakes_get_zero_with_the_reason_and_counterexamples(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    make_submission(RELEASE, root / "submission", {**ANSWERS, **MISTAKES})
    data = run_autograder(root)
    check_consistent(data)
    assert data["score"] == 0
    tests = riddle_tests(data)
    assert "f(10) = 0.5" in tests["lt10_sigmoid"]["output"]
    assert "| input | expected | got |" in tests["lt10_relu"]["output"]
    assert "Refused" in tests["min_network"]["output"]
    assert "Refused: SkipConnection at cell" in tests["is_even_16_sequential"]["output"]
    assert "neurons" in tests["lt10_relu"]["output"] and "proven minimum" in tests["lt10_relu"]["output"]
    parts = [t for t in data["tests"] if t["name"].startswith("is_even_network, n = ")]
    assert parts[0]["status"] == "failed" and "not exact" in parts[0]["name"]
    assert all("not checked" in t["name"] for t in parts[1:])


def test_a_partly_solved_submission_scores_only_what_is_solved(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    make_submission(RELEASE, root / "submission", {**ANSWERS, "answer_min_network": MISTAKES["answer_min_network"]})
    data = run_autograder(root)
    check_consistent(data)
    assert data["score"] == FULL - RIDDLES["min_network"].points.total
    assert riddle_tests(data)["min_network"]["status"] == "failed"


def test_no_notebook_still_gives_valid_results_with_a_message(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    (root / "submission" / "answers.py").write_text(REFERENCE)
    data = run_autograder(root)
    check_consistent(data)
    assert data["score"] == 0
    assert "no notebook" in data["output"] and "answers.py" in data["output"]


def test_several_notebooks_are_graded_together_and_duplicates_are_named(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    sub = root / "submission"
    make_notebook(sub / "a.ipynb", "import torch\nfrom torch import nn\n" + MISTAKES["answer_lt10_relu"])
    make_notebook(sub / "b.ipynb", REFERENCE)
    (sub / ".ipynb_checkpoints").mkdir()
    make_notebook(sub / ".ipynb_checkpoints" / "a-checkpoint.ipynb", "raise SystemExit")
    data = run_autograder(root)
    check_consistent(data)
    # lt10_relu comes from a.ipynb (the first), everything else from b.ipynb
    assert data["score"] == FULL - RIDDLES["lt10_relu"].points.total
    assert "lt10\\_relu is defined in a.ipynb and in b.ipynb: graded from a.ipynb" in data["output"]
    assert data["extra_data"]["notebooks"] == ["a.ipynb", "b.ipynb"]


def test_notebooks_beyond_the_limit_are_named_not_run(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    for i in range(7):
        make_notebook(root / "submission" / f"nb{i}.ipynb", "x = 1")
    data = run_autograder(root)
    check_consistent(data)
    assert data["extra_data"]["notebooks"] == [f"nb{i}.ipynb" for i in range(5)]
    assert "nb5.ipynb, nb6.ipynb: not graded: only the first 5 notebooks" in data["output"]


def test_a_broken_notebook_gets_valid_results_with_the_reason(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    (root / "submission" / "riddles.ipynb").write_bytes(b'{"cells": [')
    data = run_autograder(root)
    check_consistent(data)
    assert data["score"] == 0 and "not a readable notebook" in data["output"]


HOSTILE_HERE = ["loop", "fork_bomb", "memory_bomb", "fake_report", "patcher", "prints_megabytes"]


@pytest.mark.parametrize("name", HOSTILE_HERE)
def test_hostile_notebooks_get_valid_results_and_no_unearned_points(bundle: Path, tmp_path: Path, name: str) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    make_notebook(root / "submission" / f"{name}.ipynb", *HOSTILE[name])
    data = run_autograder(root)
    check_consistent(data)
    earned = {"memory_bomb": FULL, "prints_megabytes": FULL}.get(name, 0)  # their reference cell still counts
    assert data["score"] == earned, data["output"]


def test_a_notebook_cannot_write_its_own_results(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    forged = json.dumps({"score": 1000, "tests": []})
    target = root / "results" / "results.json"
    marker = root / "results" / "written-by-the-notebook"
    make_notebook(root / "submission" / "forger.ipynb",
                  f"import os\nos.makedirs({str(target.parent)!r}, exist_ok=True)\n"
                  f"open({str(marker)!r}, 'w').write('x')\n"
                  f"open({str(target)!r}, 'w').write({forged!r})")
    data = run_autograder(root)
    check_consistent(data)
    assert data["score"] == 0
    if os.geteuid() == 0:  # a root grader (as on Gradescope) chroots the notebook: it wrote inside its jail
        assert not marker.exists()


def test_student_text_cannot_inject_markup(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "autograder")
    make_notebook(root / "submission" / "x<img src=x>.ipynb",
                  "def lt10_relu():\n    raise ValueError('<script>alert(1)</script> | **bold**')")
    data = run_autograder(root)
    check_consistent(data)
    shown = [data["output"], *[t["output"] for t in data["tests"]], *[t["name"] for t in data["tests"]]]
    assert not any("<script>" in s or "<img" in s for s in shown)
    assert "&lt;script&gt;" in riddle_tests(data)["lt10_relu"]["output"]


def test_a_misconfigured_or_unstartable_autograder_still_writes_results(bundle: Path, tmp_path: Path) -> None:
    root = unpack(bundle, tmp_path / "a")
    (root / "source" / CONFIG_NAME).write_text('{"limits": {"notebook": "soon"}}')
    data = run_autograder(root)
    assert data["score"] == 0 and "misconfigured" in data["output"]
    root = unpack(bundle, tmp_path / "b")
    make_submission(RELEASE, root / "submission", ANSWERS)
    data = run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert data["score"] == 0 and "could not start" in data["output"]


def test_gradescope_scores_equal_riddles_grade_scores(bundle: Path, tmp_path: Path) -> None:
    """The same notebooks graded by `riddles grade` and by the bundle: the same points."""
    cls = tmp_path / "class"
    subs = {"good": ANSWERS, "flawed": {**ANSWERS, **MISTAKES},
            "mixed": {**ANSWERS, **{k: v for k, v in MISTAKES.items() if "is_even" in k or "sigmoid" in k}}}
    for name, answers in subs.items():
        make_submission(RELEASE, cls / name, answers)
    out = tmp_path / "out"
    proc = riddles_cli("grade", str(cls), "--out", str(out), "--timeout", "20", "--call-timeout", "5")
    assert proc.returncode == 0, proc.stderr
    for name in subs:
        report = json.loads((out / "reports" / f"{name}.json").read_text())
        root = unpack(bundle, tmp_path / f"gs-{name}")
        shutil.copytree(cls / name, root / "submission", dirs_exist_ok=True)
        data = run_autograder(root)
        assert data["score"] == report["score"]
        assert {rid: t["score"] for rid, t in riddle_tests(data).items()} == \
            {r["id"]: r["score"] for r in report["riddles"]}


def test_setup_sh_installs_the_grader_that_run_autograder_uses(tmp_path: Path) -> None:
    """The whole path on Gradescope: build, unpack, setup.sh (a fresh virtual env with the
    shipped package), then run_autograder with that env, not this one.  torch comes from the
    local disk here (Gradescope would use PyTorch's CPU index)."""
    torch_version = metadata.version("torch").split("+")[0]
    out = tmp_path / "autograder.zip"
    proc = riddles_cli("gradescope", "build", "--out", str(out), "--torch", f"torch=={torch_version}",
                       "--torch-index", "")
    assert proc.returncode == 0, proc.stderr
    root = unpack(out, tmp_path / "autograder")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", capture_output=True,
                           text=True, timeout=1800, env={**env, "RIDDLES_AUTOGRADER_ROOT": str(root)})
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert "installed neuron-riddles" in setup.stdout
    python = root / "venv" / "bin" / "python"
    where = subprocess.run([str(python), "-I", "-c", "import autograder; print(autograder.__file__)"],
                           capture_output=True, text=True, check=True, cwd=root).stdout
    assert where.startswith(str(root / "venv"))  # the bundle's copy, not this checkout
    make_submission(RELEASE, root / "submission", {**ANSWERS, "answer_lt10_relu": MISTAKES["answer_lt10_relu"]})
    data = run_autograder(root, python=str(python))
    check_consistent(data)
    assert data["score"] == FULL - RIDDLES["lt10_relu"].points.total


def test_the_visibility_chosen_at_build_time_is_on_every_test(tmp_path: Path) -> None:
    out = tmp_path / "autograder.zip"
    assert riddles_cli("gradescope", "build", "--out", str(out), "--visibility", "after_due_date").returncode == 0
    root = unpack(out, tmp_path / "autograder")
    data = run_autograder(root)  # an empty submission: graded without starting a worker
    assert {t["visibility"] for t in data["tests"]} == {"after_due_date"}
    assert len(data["tests"]) == N_TESTS and data["score"] == 0
