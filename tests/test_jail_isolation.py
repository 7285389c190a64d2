"""Can one notebook touch another student's grade, data or process?  Each class of attack is
graded in one batch (`--jobs 2`) next to good submissions that must keep full marks."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import make_notebook
from .jailkit import (
    FULL,
    REFERENCE,
    as_second_user,
    good,
    grade,
    grades,
    jailed_processes,
    open_to_second_user,
    report,
    second_user_home,
)

pytestmark = pytest.mark.slow
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="per-notebook uids and cgroups are made as root")
SECRET = "grader-secret-5f1c9e"

# Signals across students: kill(-1) for a while, so that it overlaps the good notebooks.
KILLER = ("import os, signal, time\nend = time.time() + 8\nhit = 0\nwhile time.time() < end:\n"
          "    try:\n        os.kill(-1, signal.SIGKILL)\n        hit += 1\n    except OSError:\n        pass\n"
          "    time.sleep(0.05)\nraise ValueError(f'kill(-1) reached something {hit} times')")
# Escaping the sweep: fork, setsid, a thread, the main thread ends; the thread keeps killing
# and tries to write next to the grades.
ESCAPER = ("import os, signal, time, threading, ctypes\n"
           "def haunt():\n    end = time.time() + 40\n    while time.time() < end:\n"
           "        for target in (lambda: os.kill(-1, signal.SIGKILL), lambda: open({marker!r}, 'w').write('x')):\n"
           "            try:\n                target()\n            except OSError:\n                pass\n"
           "        time.sleep(0.1)\n"
           "if os.fork() == 0:\n    os.setsid()\n    threading.Thread(target=haunt).start()\n"
           "    ctypes.CDLL(None).pthread_exit(None)\n")
# Memory inherited from the worker: look for other students' tokens and the grader's secret.
SCANNER = ("import gc, os\nneedles = ['VIC' + 'TIM-', 'grader-' + 'secret']\nfound = set()\n"
           "def look(s):\n    if isinstance(s, str) and s not in needles and any(n in s for n in needles):\n"
           "        found.add(s[:80])\n"
           "for o in gc.get_objects():\n    vals = o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple, set)) else ()\n"
           "    for v in list(vals):\n        look(v)\n"
           "for k, v in os.environ.items():\n    look(k + '=' + v)\n"
           "raise ValueError('found ' + repr(sorted(found)))")
# Memory per notebook, not per process: 8 children of 400 MiB each; count those that hold
# their 400 MiB (they said so on a pipe) and are still alive.
HOG = ("import os, time\nr, w = os.pipe()\nkids = []\nfor i in range(8):\n    try:\n        pid = os.fork()\n"
       "    except OSError:\n        break\n"
       "    if pid == 0:\n        try:\n            block = b'x' * (400 * 1024**2)\n            os.write(w, bytes([i]))\n"
       "            time.sleep(30)\n        finally:\n            os._exit(0)\n    kids.append(pid)\n"
       "time.sleep(6)\nos.set_blocking(r, False)\ntry:\n    holding = set(os.read(r, 64))\nexcept BlockingIOError:\n"
       "    holding = set()\nalive = sum(os.waitpid(p, os.WNOHANG) == (0, 0) for i, p in enumerate(kids) if i in holding)\n"
       "raise ValueError(f'{alive} of {len(kids)} alive')")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, object]:
    cls = tmp_path_factory.mktemp("hostile-class")
    marker = tmp_path_factory.mktemp("marker") / "escaped"
    for i in range(4):
        good(cls, f"a_good{i}", token=f"VICTIM-a{i}-{'x' * 20}")
    make_notebook(cls / "b_killer.ipynb", KILLER, REFERENCE)
    make_notebook(cls / "c_escaper.ipynb", ESCAPER.format(marker=str(marker)), REFERENCE)
    make_notebook(cls / "d_hog.ipynb", HOG, REFERENCE)
    for i in range(4):
        good(cls, f"m_good{i}", token=f"VICTIM-m{i}-{'x' * 20}")
    make_notebook(cls / "z_scanner.ipynb", SCANNER)
    out = tmp_path_factory.mktemp("out")
    env = {**os.environ, "RIDDLES_TEST_SECRET": SECRET}
    proc = grade(cls, out, "--jobs", "2", "--timeout", "30", "--call-timeout", "10", "--memory", "2", env=env)
    return cls, out, marker, proc


def _good_names() -> list[str]:
    return [f"a_good{i}" for i in range(4)] + [f"m_good{i}" for i in range(4)]


def test_the_batch_is_graded_and_every_good_submission_keeps_full_marks(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _, proc = batch
    assert proc.returncode == 0, proc.stderr
    table = grades(out)
    for name in _good_names():
        assert float(table[name]["total"]) == FULL, report(out, name)


def test_kill_minus_one_reaches_no_other_student(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _, _ = batch
    notes = " ".join(report(out, "b_killer")["notes"])
    assert "kill(-1) reached something 0 times" in notes, notes  # alone in its PID namespace, under its own uid
    assert float(grades(out)["b_killer"]["total"]) == FULL  # its own reference code after the loop still counts


def test_a_process_that_escapes_its_group_dies_with_its_notebook(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, marker, _ = batch
    time.sleep(2)
    assert not marker.exists()
    assert jailed_processes() == []  # (it may well have killed its own notebook: that is its business)


def test_nothing_of_other_students_or_the_grader_is_in_a_notebooks_memory(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _, _ = batch
    notes = " ".join(report(out, "z_scanner")["notes"])
    assert "found []" in notes, notes
    assert SECRET not in notes and "VICTIM" not in notes


@ROOT_ONLY
def test_memory_is_limited_for_the_notebook_as_a_whole(batch) -> None:  # type: ignore[no-untyped-def]
    _, out, _, _ = batch
    notes = " ".join(report(out, "d_hog")["notes"])
    alive = int(notes.split(" of ")[0].rsplit(" ", 1)[-1])
    assert alive * 400 <= 2 * 1024, notes  # the children together within --memory 2 (GiB)
    assert float(grades(out)["d_hog"]["total"]) == FULL


@ROOT_ONLY
def test_each_notebook_has_its_own_share_of_the_processors() -> None:
    """A notebook that starts many processes (and leaves its session) must not slow the others
    past their wall-clock limits: where the cpu controller is a v1 hierarchy the grader may write
    to, each notebook's cgroups include one of its own there (equal shares with the others)."""
    from autograder.jail import confine

    cpu = confine._own_cgroup("cpu")
    if cpu is None or cpu[1] != 1 or not os.access(cpu[0], os.W_OK):
        pytest.skip("no writable cgroup v1 cpu hierarchy here")
    found = confine.cgroup_parents()
    assert found is not None and cpu[0] in found[0]
    group = confine.make_cgroup(found[0], found[1], f"riddles-test-{os.getpid()}", 2**30, 8)
    try:
        assert (cpu[0] / f"riddles-test-{os.getpid()}").is_dir()
    finally:
        group.remove(found[0])
    assert not (cpu[0] / f"riddles-test-{os.getpid()}").exists()


# ---- not as root ------------------------------------------------------------------------------
def _second_user_class(home: Path, hostile: bool = True) -> tuple[Path, Path]:
    cls, out = home / "class", home / "out"
    cls.mkdir(parents=True)
    good(cls, "a_good")
    if hostile:
        make_notebook(cls / "b_killer.ipynb", KILLER, REFERENCE)
    good(cls, "c_good")
    open_to_second_user(home)
    return cls, out


@pytest.fixture
def home() -> Iterator[Path]:
    with second_user_home() as folder:
        yield folder


def _skip_unless_set_up(proc) -> None:  # type: ignore[no-untyped-def]
    if proc.returncode == 77:
        pytest.skip(f"cannot run as a second user here: {proc.stderr.strip()[:200]}")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a second user needs root")
def test_without_root_a_user_namespace_isolates_each_notebook(home: Path) -> None:
    cls, out = _second_user_class(home)
    proc = grade(cls, out, "--jobs", "2", "--timeout", "30", "--call-timeout", "10", prefix=as_second_user())
    _skip_unless_set_up(proc)
    assert proc.returncode == 0, proc.stderr
    table = grades(out)
    assert float(table["a_good"]["total"]) == FULL and float(table["c_good"]["total"]) == FULL


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a second user needs root")
def test_without_any_isolation_grade_refuses_unless_told_and_says_what_is_given_up(home: Path) -> None:
    cls, out = _second_user_class(home)
    refused = grade(cls, out, "--timeout", "30", prefix=as_second_user("--no-userns"))
    _skip_unless_set_up(refused)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--allow-unisolated" in refused.stderr and "no isolation" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not out.exists()  # refused before anything was written
    # What the flag gives up is real (a kill(-1) here would reach the grader), so only good
    # notebooks are graded with it.
    cls, out = _second_user_class(home / "allowed", hostile=False)
    allowed = grade(cls, out, "--timeout", "30", "--jobs", "1", "--allow-unisolated",
                    prefix=as_second_user("--no-userns"))
    assert allowed.returncode == 0, allowed.stderr
    assert float(grades(out)["a_good"]["total"]) == float(grades(out)["c_good"]["total"]) == FULL
