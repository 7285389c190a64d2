"""Build step: the theory page ships in a student edition, without the riddles' answers.

pyproject.toml maps `assignments/riddles/*.ipynb` and `docs/theory.md` into the package
(`autograder/student/`).  docs/theory.md also names the constructions that meet each bound,
which are the riddles' answers; this step rewrites the copy in the build tree so that those
passages are replaced by a pointer to the riddle.  Each passage is found by its first and last
words; if one is not found (the page changed), the build fails and says which, so the wheel
can never ship an answer unnoticed.  tests/test_getting_started.py opens the wheel and checks.
"""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# (first words, last words or None for just the first, what the student edition says instead)
ANSWERS = (
    ("Every construction named here is a network", "the test suite checks.",
     "This student edition leaves out the constructions that answer the riddles."),
    ("σ(100·(9.5 − x))", "on every integer.",
     "A threshold strictly between 9 and 10 with a steep enough slope is right (that is the riddle)."),
    ("ReLU(10 − x) − ReLU(9 − x) is 1 for", "on every integer.", "(the construction is the riddle `lt10_relu`)."),
    ("a − ReLU(a − b). **0", None, "(the riddle `min_network`). **0"),
    ("on a bounded grid 2 units suffice,", "3 units suffice, ReLU(b) − ReLU(−b) − ReLU(b − a).",
     "2 units suffice on a bounded grid and 3 on all of ℝ² (the written question of notebook 2)."),
    ("The article's trained network a − 1.41·0.71·ReLU(a − b)", "= 1.0011.",
     "The article's trained network for min is not exact: its learned weights multiply to 1.0011, not 1."),
    ("**Tight with a residual stream.**", "This is `ResidualFold`.",
     "**Tight with a residual stream:** n units suffice (the riddle `is_even_network`)."),
    ("Constructions for a plain MLP:", "the article's network with 11.",
     "Plain-MLP constructions with 2n units exist, and one with 7 units for n = 4; the article's has 11."),
    ("true with the one-unit residual fold above.", None, "true with a one-unit residual fold per bit."),
    ("*The 7-unit zig-zag*", "the tests check both.",
     "A 7-unit plain network is known (the riddle `is_even_16_sequential`); whether 6 suffice is open."),
)


def _phrase(words: str) -> str:
    return r"\s+".join(re.escape(w) for w in words.split())


def student_theory(text: str) -> str:
    """docs/theory.md with every construction replaced; ValueError names a passage not found."""
    for first, last, instead in ANSWERS:
        pattern = _phrase(first) + ("" if last is None else r"(?:.|\n)*?" + _phrase(last))
        new, count = re.subn(pattern, instead, text, count=1)
        if count != 1:
            raise ValueError(f"docs/theory.md changed: the passage starting {first!r} was not found; "
                             "update ANSWERS in setup.py so that no answer ships in the wheel")
        text = new
    return text


class BuildPyWithStudentTheory(build_py):
    """build_py, then the student edition of theory.md over the copied page."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        source = Path("docs") / "theory.md"
        target = Path(self.build_lib) / "autograder" / "student" / "docs" / "theory.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(student_theory(source.read_text(encoding="utf-8")), encoding="utf-8")


setup(cmdclass={"build_py": BuildPyWithStudentTheory})
