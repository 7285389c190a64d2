"""Getting started from the built wheel alone, in a fresh venv outside the repository.

Does the wheel hold the student notebooks and the theory page, and no answer? Does
`riddles start` give a working folder, do the notebooks run with the reference answers in a
real Jupyter kernel, and does `riddles check` score the folder? Do the README's two commands
work as written?
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.core.riddles import RIDDLES
from solutions.submissions import make_submission, reference_answers

from .wheel_env import PY, ROOT, build_wheel, fresh_venv, venv_env, wheel_texts

pytestmark = pytest.mark.slow
TOTAL = sum(r.points.total for r in RIDDLES.values())
SOURCE = ROOT / "source" / "riddles"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def readme_commands() -> list[str]:
    """The commands of the README's "Study on your own" section, as written."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Study on your own", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the section has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed by the README's own pip command."""
    venv = fresh_venv(tmp_path_factory.mktemp("venv") / "env")
    install = readme_commands()[0]
    assert install.split()[:2] == ["pip", "install"] and wheel.name in install, (install, wheel.name)
    proc = subprocess.run(install, shell=True, cwd=wheel.parent, env=venv_env(venv), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return venv


def run(venv: Path, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=venv_env(venv),
                          capture_output=True, text=True, timeout=timeout)


# ---- what the wheel holds -------------------------------------------------------------------
def _normal(s: str) -> str:
    """Text compared for leaks: no spaces, one spelling of each symbol."""
    for a, b in (("σ", "sigmoid"), ("−", "-"), ("·", "*"), ("×", "*"), ("←", "<-"), ("ᵏ⁺¹", "^(k+1)"),
                 ("ᵏ", "^k"), ("ⁿ", "^n")):
        s = s.replace(a, b)
    return re.sub(r"\s+", "", s).lower()


def _regions(source: str, begin: str, end: str) -> tuple[list[str], str]:
    """(lines inside begin/end regions, the text outside them)."""
    inside, outside, on = [], [], False
    for line in source.splitlines():
        if begin in line:
            on = True
        elif end in line:
            on = False
        elif on:
            inside.append(line)
        else:
            outside.append(line)
    return inside, "\n".join(outside)


def answer_fragments() -> tuple[set[str], set[str]]:
    """(answers, public): normalized lines of every solution region and hidden test of the
    instructor notebooks, of solutions/reference.py, and the network formulas its docstrings
    state; and the normalized text the instructor's notebooks show outside those regions
    (whatever the instructor releases on purpose is not a leak)."""
    answers: set[str] = set()
    public: list[str] = []
    for path in sorted(SOURCE.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            sol, rest = _regions(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
            hidden, rest = _regions(rest, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
            answers |= {_normal(x) for x in sol + hidden if len(x.strip()) >= 16}
            public.append(rest)
    reference = (ROOT / "solutions" / "reference.py").read_text()
    for line in reference.splitlines():
        if len(line.strip()) >= 16 and not line.lstrip().startswith(("from ", "import ", "#", "def ", "class ")):
            answers.add(_normal(line))
    for node in ast.walk(ast.parse(reference)):
        doc = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None
        for piece in re.split(r"[:;]\s|,\s|\.\s|\.$| for | = |\n", doc or ""):
            if "ReLU(" in piece or "sigmoid(" in piece:
                answers.add(_normal(piece.strip()))
    # The package writes the test cells itself: their generic hidden part is public by construction.
    shown = _normal("\n".join(public) + (ROOT / "autograder" / "frontends" / "nbgrader_cells.py").read_text())
    return {a for a in answers if a and a not in shown}, {shown}


def test_the_answer_detector_finds_the_answers() -> None:
    """A check that cannot fail is no check: the detector must flag the instructor's own files."""
    answers, _ = answer_fragments()
    theory = _normal((ROOT / "docs" / "theory.md").read_text())
    assert len(answers) > 40
    assert _normal("ReLU(10 − x) − ReLU(9 − x)") in answers
    assert any(a in theory for a in answers), "docs/theory.md as written names constructions"
    for path in SOURCE.glob("*.ipynb"):  # an instructor notebook, as stored, would be caught
        assert any(a in _normal(path.read_text()) for a in answers), path.name


def test_the_wheel_ships_student_files_and_no_answer(wheel: Path) -> None:
    texts = wheel_texts(wheel)
    names = sorted(texts)
    student = sorted(n for n in names if n.startswith("autograder/student/"))
    assert student == ["autograder/student/01-less-than-ten.ipynb", "autograder/student/02-minimum.ipynb",
                       "autograder/student/03-is-even.ipynb", "autograder/student/docs/theory.md"]
    for name in student[:3]:  # the released notebooks, byte for byte: they cannot drift
        assert texts[name] == (ROOT / "assignments" / "riddles" / Path(name).name).read_text()
    assert not [n for n in names if n.endswith(".ipynb") and n not in student]
    assert not [n for n in names if re.match(r"(source|solutions|tests|docs|benchmarks)/", n)
                or n.endswith("nbgrader_config.py")]
    for name, text in texts.items():
        if _writes_test_cells(name):
            continue
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "riddle_test(globals()"):
            assert marker not in text, f"{marker!r} in {name}"
    answers, _ = answer_fragments()
    leaks = {name: sorted(a for a in answers if a in _normal(text)) for name, text in texts.items()}
    assert not {k: v for k, v in leaks.items() if v}, leaks
    theory = texts["autograder/student/docs/theory.md"]
    assert theory.count("**Theorem.**") == (ROOT / "docs" / "theory.md").read_text().count("**Theorem.**") >= 2
    assert "student edition" in theory


def _writes_test_cells(name: str) -> bool:
    """The package's generator of nbgrader test cells holds the markers as a template (its
    hidden part is one generic call into the grader, no answer); every answer fragment is
    still searched for in it."""
    return name.replace("\\", "/").endswith("autograder/frontends/nbgrader_cells.py")


def _installed_texts(venv: Path) -> dict[str, str]:
    package = venv / "lib" / PY / "site-packages" / "autograder"
    return {str(p): p.read_text(errors="replace") for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def _no_answers(texts: dict[str, str]) -> None:
    answers, _ = answer_fragments()
    assert len(texts) > 20
    for name, text in texts.items():
        if not _writes_test_cells(name):
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "riddle_test(globals()"):
                assert marker not in text, f"{marker!r} in {name}"
        assert not [a for a in answers if a in _normal(text)], name


def _doc_block(doc: str, heading: str) -> str:
    section = (ROOT / "docs" / doc).read_text().split(heading, 1)[1]
    block = re.search(r"```(?:sh|yaml)\n(.*?)```", section, re.S)
    assert block
    return block.group(1)


def test_github_classroom_install_has_no_answers(wheel: Path, tmp_path: Path) -> None:
    """docs/github-classroom.md's install step, run in a fresh venv on a template repository."""
    yaml = _doc_block("github-classroom.md", "`.github/workflows/classroom.yml`:")
    step = yaml.split("- name: Install the grader", 1)[1].split("- id:", 1)[0]
    lines = [ln.strip() for ln in step.splitlines() if ln.strip().startswith("pip install")]
    assert len(lines) == 2 and "torch" in lines[0]  # torch comes from this machine's disk instead
    template = tmp_path / "template"
    where = template / Path(lines[1].split()[-1])
    where.parent.mkdir(parents=True)
    shutil.copyfile(wheel, where)
    answers = reference_answers(SOURCE)
    make_submission(ROOT / "assignments" / "riddles", template, answers)
    venv = fresh_venv(tmp_path / "ci")
    proc = subprocess.run(lines[1], shell=True, cwd=template, env=venv_env(venv), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _no_answers(_installed_texts(venv))
    graded = yaml.split("command: ", 1)[1].splitlines()[0]
    assert graded.startswith("pytest -c /dev/null --rootdir . --noconftest")
    proc = subprocess.run(graded, shell=True, cwd=template, env=venv_env(venv), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_gradescope_bundle_from_the_wheel_has_no_answers(wheel: Path, tmp_path: Path) -> None:
    """docs/gradescope.md's build: the wheel in a venv named `grader`, then the bundle."""
    lines = [ln.split("  #")[0].strip() for ln in _doc_block("gradescope.md", "## Build").splitlines() if ln.strip()]
    assert lines[0].startswith("pip wheel . --no-deps -w dist")  # what build_wheel ran
    (tmp_path / "dist").mkdir()
    shutil.copyfile(wheel, tmp_path / "dist" / wheel.name)
    make_venv, install = lines[1].split(" && ")
    assert make_venv == "python -m venv grader"  # made with the shared packages instead (no torch download)
    venv = fresh_venv(tmp_path / "grader")
    for command in (install, lines[2]):
        proc = subprocess.run(command, shell=True, cwd=tmp_path, env=venv_env(venv), capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{command}: {proc.stderr[-3000:]}"
    with zipfile.ZipFile(tmp_path / "autograder.zip") as zf:
        texts = {n: zf.read(n).decode("utf-8", "replace") for n in zf.namelist()}
    assert "package/autograder/core/checker.py" in texts and not [n for n in texts if "solutions/" in n]
    _no_answers(texts)


# ---- a self-learner's session -----------------------------------------------------------------
def test_version_and_help(venv: Path, tmp_path: Path) -> None:
    proc = run(venv, "riddles", "--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "riddles 0.1.0"
    helptext = run(venv, "riddles", "--help", cwd=tmp_path).stdout
    for command in ("start", "check", "course", "grade", "gradescope"):
        assert command in helptext


def test_start_refuses_to_overwrite_work(venv: Path, tmp_path: Path) -> None:
    first = run(venv, "riddles", "start", "mine", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "jupyter lab mine" in first.stdout
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [
        "01-less-than-ten.ipynb", "02-minimum.ipynb", "03-is-even.ipynb", "README.md", "docs"]
    assert "riddles check" in (tmp_path / "mine" / "README.md").read_text()
    work = tmp_path / "mine" / "02-minimum.ipynb"
    work.write_text(work.read_text().replace("raise NotImplementedError()", "return None  # my work"))
    again = run(venv, "riddles", "start", "mine", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert "my work" in work.read_text()
    forced = run(venv, "riddles", "start", "mine", "--force", cwd=tmp_path)
    assert forced.returncode == 0 and "my work" not in work.read_text()


def test_untouched_notebooks_score_zero(venv: Path, tmp_path: Path) -> None:
    assert run(venv, "riddles", "start", cwd=tmp_path).returncode == 0
    proc = run(venv, "riddles", "check", "neuron-riddles", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"Total: 0 / {TOTAL:g}" in proc.stdout
    for rid in RIDDLES:
        assert re.search(rf"^{rid}\s+MISSING\s+0/", proc.stdout, re.M), proc.stdout


EXECUTE = r'''
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import autograder; print('AUTOGRADER', autograder.__file__)"))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    nbformat.write(nb, path)
'''


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_reference_answers_run_in_a_kernel_and_score_full(venv: Path, tmp_path: Path) -> None:
    assert run(venv, "riddles", "start", "started", cwd=tmp_path).returncode == 0
    done = make_submission(tmp_path / "started", tmp_path / "done", reference_answers(SOURCE))
    notebooks = sorted(str(p) for p in done.glob("*.ipynb"))
    proc = run(venv, "python", "-c", EXECUTE, *notebooks, cwd=tmp_path, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    self_checks, examples = 0, 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            assert not [o for o in cell.outputs if o.get("output_type") == "error"], cell.source
            if re.fullmatch(r"check\((\w+)\);", cell.source.strip()):
                self_checks += 1
                assert re.search(r"PASS (\d+(\.\d+)?)/\1", _text(cell)), _text(cell)
            elif re.search(r'^check\(\w+, riddle="\w+"\);$', cell.source, re.M):
                examples += 1  # the worked example: a one-unit network, not an answer
                assert "FAIL 0/" in _text(cell) and "expected" in _text(cell), _text(cell)
            elif cell.source.startswith("import autograder; print('AUTOGRADER'"):
                where = _text(cell).split()[-1]
                assert where.startswith(str(venv)), where
        assert "Worked example" in "".join(c.source for c in nb.cells[:8])
    assert (self_checks, examples) == (len(RIDDLES), 3)
    board = run(venv, "riddles", "check", "done", "--html", "board.html", cwd=tmp_path)
    assert board.returncode == 0, board.stdout + board.stderr
    assert f"Total: {TOTAL:g} / {TOTAL:g}" in board.stdout
    for rid in RIDDLES:
        assert re.search(rf"^{rid}\s+PASS\s", board.stdout, re.M), board.stdout
    assert "optimal" in board.stdout
    page = (tmp_path / "board.html").read_text()
    assert page.count("<svg") == len(RIDDLES) and f"Total: {TOTAL:g} / {TOTAL:g}" in page


def test_the_readme_commands_as_written(venv: Path, tmp_path: Path) -> None:
    """Line 1 installed the wheel (the venv fixture); line 2 starts Jupyter Lab on the folder."""
    command = readme_commands()[1]
    assert command.startswith("riddles start")
    env = {**venv_env(venv), "BROWSER": "true", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    proc = subprocess.Popen(command, shell=True, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() < deadline and not any("http://" in s and "/lab" in s for s in seen):
            line = proc.stdout.readline()
            if line:
                seen.append(line)
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            seen += proc.stdout.readlines()
            proc.stdout.close()
    output = "".join(seen)
    assert any("http://" in s and "/lab" in s for s in seen), output[-3000:]
    assert "Traceback" not in output
    assert sorted(p.name for p in (tmp_path / "neuron-riddles").glob("*.ipynb")) == [
        "01-less-than-ten.ipynb", "02-minimum.ipynb", "03-is-even.ipynb"]
