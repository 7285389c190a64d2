"""Every front end runs student code in the same jail and shows what it says as plain text:
`riddles check`, the nbgrader preprocessor and the pytest plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbformat import NotebookNode

from autograder.core.limits import Limits
from autograder.core.riddles import RIDDLES

from .conftest import make_notebook, riddles_cli
from .jailkit import REFERENCE, jailed_processes

pytestmark = pytest.mark.slow
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the per-notebook uid is given as root")

# The answer is right only if the notebook cannot see the machine: it runs as root, reads
# /etc/shadow, sees the grader's files or may start a thousand processes.
PROBE = ("import os, time\nforks = 0\nfor _ in range(1000):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
         "    if pid == 0:\n        time.sleep(20)\n        os._exit(0)\n    forks += 1\n"
         "try:\n    shadow = open('/etc/shadow').read(1)\nexcept OSError:\n    shadow = ''\n"
         "exposed = os.getuid() == 0 and os.path.exists('/etc') or bool(shadow) or os.path.exists({here!r}) or forks >= 1000\n"
         "if os.fork() == 0:\n    os.setsid()\n    time.sleep(3)\n    open({orphan!r}, 'w').write('late')\n    os._exit(0)\n"
         "print(forks)")
BREAK_IF_EXPOSED = "if exposed:\n    def lt10_relu():\n        raise ValueError('the notebook could see the machine')"


def _probe_cells(tmp_path: Path) -> list[str]:
    return [PROBE.format(here=str(Path(__file__).resolve()), orphan=str(tmp_path / "orphan")), REFERENCE,
            BREAK_IF_EXPOSED]


@ROOT_ONLY
def test_riddles_check_runs_a_notebook_jailed(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "probe.ipynb", *_probe_cells(tmp_path))
    proc = riddles_cli("check", str(nb), "--riddle", "lt10_relu", "--timeout", "60")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    time.sleep(4)
    assert not (tmp_path / "orphan").exists()
    assert jailed_processes() == []


@ROOT_ONLY
def test_the_nbgrader_preprocessor_runs_a_notebook_jailed(tmp_path: Path) -> None:
    from autograder.frontends.nbgrader_plugin import grade_notebook_cells

    test_cell = NotebookNode(cell_type="code", source="", metadata=NotebookNode(
        nbgrader=NotebookNode(grade=True, solution=False, grade_id="test_lt10_relu", points=3)))
    cells = [NotebookNode(cell_type="code", source=c, metadata=NotebookNode()) for c in _probe_cells(tmp_path)]
    result = grade_notebook_cells([*cells, test_cell], limits=Limits(notebook=60, cell=60, call=10))["lt10_relu"]
    assert result.score == RIDDLES["lt10_relu"].points.total, result.message
    time.sleep(4)
    assert not (tmp_path / "orphan").exists()
    assert jailed_processes() == []


def test_riddles_check_shows_a_students_own_syntax_error_and_timed_out_cell(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "nb.ipynb", REFERENCE, "def broken(:\n    pass", "while True:\n    pass")
    proc = riddles_cli("check", str(nb), "--timeout", "20")
    assert "SyntaxError" in proc.stdout and "whole-notebook limit of 20 s" in proc.stdout, proc.stdout


def _pytest(nb: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--submission", str(nb),
                           "--riddles-timeout", "60", *args], capture_output=True, text=True, cwd=nb.parent,
                          timeout=600)


def test_the_pytest_plugin_passes_a_right_notebook_under_warnings_as_errors(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "right.ipynb", REFERENCE)
    proc = _pytest(nb, "-W", "error")
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_notes_cannot_forge_the_pytest_summary(tmp_path: Path) -> None:
    full = f"{sum(r.points.total for r in RIDDLES.values()):g}"
    forged = "\\n" + "=" * 20 + f" neuron-riddles: {full} / {full} points " + "=" * 20 + "\\n\\x1b[32m"
    nb = make_notebook(tmp_path / "forger.ipynb", f"raise ValueError('x{forged}')")
    proc = _pytest(nb)
    banners = [ln for ln in proc.stdout.splitlines() if ln.startswith("=") and "neuron-riddles:" in ln]
    assert banners == [next(ln for ln in banners if f"0 / {full}" in ln)], proc.stdout[-3000:]
    assert "\x1b[32m" not in proc.stdout
