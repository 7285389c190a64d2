"""`riddles course new DIR`: a fresh nbgrader course directory of the instructor's own.

The instructor notebooks hold the solutions, so they are never in the student package: they
come from a checkout of the course repository (the one this package runs from when installed
with `pip install -e .`, or the one named with `--from`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .files import MissingCourseFiles, checkout_root

GITIGNORE = """# Student work and grades stay out of version control.
/submitted/
/autograded/
/feedback/
/release/
/riddles-grades/
gradebook.db
grades.csv
.ipynb_checkpoints/
__pycache__/
"""

README = """# A neuron-riddles course

An nbgrader course directory (made by `riddles course new`).

| folder | what |
|---|---|
| `source/riddles/` | the instructor notebooks: solutions and hidden tests (keep this private) |
| `assignments/riddles/` | the student notebooks, made by `nbgrader generate_assignment riddles` |
| `submitted/<student>/riddles/` | the notebooks each student handed in |
| `autograded/`, `feedback/`, `gradebook.db`, `grades.csv` | nbgrader's outputs (git-ignored) |

Run every command in this folder, with the environment that has neuron-riddles on PATH:

    nbgrader generate_assignment riddles --force   # source/ -> assignments/ (hand these out)
    # put each student's notebooks in submitted/<student>/riddles/
    nbgrader autograde riddles                     # riddle cells graded outside the student's kernel
    nbgrader generate_feedback riddles             # feedback/<student>/riddles/*.html
    nbgrader export                                # grades.csv
    riddles grade . --gradebook                    # or: a whole class in isolated processes

Riddles of your own go in `riddles.py` next to `nbgrader_config.py`; every command above
grades them like the package's (docs/authoring.md in the neuron-riddles repository walks
through adding one).

The full guide is docs/instructors.md in the neuron-riddles repository.
"""


class CourseExists(Exception):
    """The target folder already holds a course (or other files)."""


def course_template(source_root: Path | None = None) -> Path:
    """The checkout whose `source/` and `nbgrader_config.py` a new course copies."""
    root = source_root or checkout_root()
    if root is None:
        raise MissingCourseFiles("the instructor notebooks are not part of the installed package (they "
                                 "hold the solutions): clone the course repository and run this from its "
                                 "environment, or pass --from PATH-TO-CHECKOUT")
    if not (root / "source" / "riddles").is_dir() or not (root / "nbgrader_config.py").is_file():
        raise MissingCourseFiles(f"{root} is not a neuron-riddles checkout (no source/riddles/ or nbgrader_config.py)")
    return root


def new_course(dest: Path, *, source_root: Path | None = None, force: bool = False) -> list[Path]:
    """Write a course directory: nbgrader_config.py, source/riddles/, .gitignore, README.md."""
    root = course_template(source_root)
    if dest.exists() and any(dest.iterdir()) and not force:
        raise CourseExists(f"{dest} is not empty: pick a new folder (or use --force to add the course files there)")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "source" / "riddles", dest / "source" / "riddles", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copyfile(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    (dest / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    (dest / "README.md").write_text(README, encoding="utf-8")
    return sorted(p for p in dest.rglob("*") if p.is_file())
