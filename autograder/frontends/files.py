"""Where the course files are: inside the installed package, or in the checkout.

A built wheel carries the released student notebooks and the theory page as package data
(`autograder/student/`, mapped in pyproject.toml straight from `assignments/riddles/` and
`docs/theory.md`).  An editable install has no copy: it reads the same files from the checkout.
The instructor notebooks (with solutions) exist only in a checkout; no wheel holds them.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
STUDENT_DIR = PACKAGE_DIR / "student"
NOTEBOOK_NAMES = ("01-less-than-ten.ipynb", "02-minimum.ipynb", "03-is-even.ipynb")


class MissingCourseFiles(Exception):
    """The installation lacks files a command needs (said in one line, with what to do)."""


def checkout_root() -> Path | None:
    """The repository this package runs from (an editable install), or None when installed."""
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "source").is_dir():
        return root
    return None


def student_notebooks() -> list[Path]:
    """The released student notebooks, in course order."""
    root = checkout_root()
    folder = STUDENT_DIR if (STUDENT_DIR / NOTEBOOK_NAMES[0]).is_file() or root is None \
        else root / "assignments" / "riddles"
    paths = [folder / name for name in NOTEBOOK_NAMES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise MissingCourseFiles(f"this installation has no student notebooks ({', '.join(missing)} "
                                 f"missing in {folder}); reinstall neuron-riddles from its wheel")
    return paths


def theory_page() -> Path:
    """docs/theory.md: the counting convention and the proofs of every lower bound."""
    root = checkout_root()
    page = STUDENT_DIR / "docs" / "theory.md"
    if not page.is_file() and root is not None:
        page = root / "docs" / "theory.md"
    if not page.is_file():
        raise MissingCourseFiles("this installation has no docs/theory.md; reinstall neuron-riddles from its wheel")
    return page
