"""Helpers for the jail tests: hostile classes graded next to good submissions."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autograder.core.riddles import RIDDLES
from autograder.jail import confine as jail

from .conftest import ROOT, make_notebook

FULL = sum(r.points.total for r in RIDDLES.values())
REFERENCE = (ROOT / "solutions" / "reference.py").read_text()
SECOND_UID = 54321


def good(folder: Path, name: str, token: str = "") -> Path:
    """A submission with the reference answers (and, if given, a token only it holds)."""
    return make_notebook(folder / f"{name}.ipynb", REFERENCE + (f"\nTOKEN = {token!r}" if token else ""))


def grade(cls: Path, out: Path, *args: str, env: dict[str, str] | None = None,
          prefix: list[str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "autograder.frontends.cli", "grade", str(cls), "--out", str(out), *args]
    return subprocess.run((prefix or []) + cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env)


def as_second_user(*flags: str) -> list[str]:
    """A command prefix that runs what follows as the second user (see tests/second_user.py)."""
    return [sys.executable, "-m", "tests.second_user", str(SECOND_UID), *flags, "--"]


def grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def report(out: Path, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "reports" / f"{name}.json").read_text())


def jailed_processes(wait: float = 10.0) -> list[int]:
    """Processes running under a per-notebook uid (none may outlive a run).  A notebook's
    processes are killed when its run ends, but the kernel reaps them a moment later: poll for
    up to `wait` seconds before saying that some are still there."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid >= jail.UID_BASE:
                    found.append(int(entry))
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def open_to_second_user(*paths: Path) -> None:
    """Give these folders (under `second_user_home`) to the second user."""
    for p in paths:
        for dirpath, _, files in os.walk(p):
            os.chown(dirpath, SECOND_UID, SECOND_UID)
            for f in files:
                os.chown(os.path.join(dirpath, f), SECOND_UID, SECOND_UID)


@contextmanager
def second_user_home() -> Iterator[Path]:
    """A folder the second user can reach.  Not under pytest's tmp folders: a pytest starting
    meanwhile makes /tmp/pytest-of-root private again (0700)."""
    home = Path(tempfile.mkdtemp(prefix="riddles-second-user-"))
    os.chmod(home, 0o755)
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)
