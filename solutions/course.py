"""Helpers for running the nbgrader course loop on a copy of this repository's course.

Used by `make demo`, the tests and the benchmarks; instructors use the nbgrader commands
directly (docs/instructors.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ASSIGNMENT = "riddles"


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def copy_course(dest: Path, root: Path | None = None) -> Path:
    """A fresh course directory: the instructor notebooks and nbgrader_config.py."""
    root = root or repo_root()
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "source", dest / "source", dirs_exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


def nbgrader(course: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """Run a real nbgrader command in `course` (with this environment's bin on PATH,
    which nbgrader needs for its database migrations)."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    env.pop("RIDDLES_COURSE_ROOT", None)
    proc = subprocess.run([os.path.join(bindir, "nbgrader"), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{tail}")
    return proc


def scores(course: Path) -> dict[str, dict[str, float]]:
    """student -> {grade cell id -> score} from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            row: dict[str, float] = {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    row[grade.name] = float(grade.score)
            out[sub.student.id] = row
    return out
