"""The main job (`make demo`).

1. Check the reference networks, the article's and some flawed ones; print a table.
2. Run the whole course loop with real nbgrader in ./demo: generate the assignment, create a
   sample class, autograde it (riddle cells graded outside the students' kernels), generate
   feedback, export, and print the grade table.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from autograder import check_function
from autograder.core.riddles import RIDDLES
from solutions.course import ASSIGNMENT, copy_course, nbgrader, repo_root, scores

from . import reference as R
from .article import ARTICLE
from .flawed import FLAWED
from .submissions import MISTAKES, NOTEBOOKS, make_submission, reference_answers

REFERENCES = [(fn, rid) for rid, fn in R.answers().items()] + [  # every riddle, then variants
    (R.min_network_sequential, "min_network"), (R.min_network_everywhere, "min_network"),
    (R.is_even_16_residual, "is_even_16"), (R.is_even_16_zigzag, "is_even_16"),
    (R.is_even_16, "is_even_16_sequential"),
    (R.is_even_network_sequential, "is_even_network"),
]


def checker_table() -> None:
    rows = [("reference", fn, rid) for fn, rid in REFERENCES]
    rows += [("article", fn, rid) for fn, rid, *_ in ARTICLE]
    rows += [("flawed", fn, rid) for fn, rid, *_ in FLAWED]
    print(f"{'kind':<10}{'network':<28}{'riddle':<16}{'status':<8}"
          f"{'score':>7}{'neurons':>9}{'min':>5}{'budget':>7}  message")
    start = time.perf_counter()
    for kind, fn, rid in rows:
        r = check_function(fn, rid)
        v = r.main
        lb, bud = (v.riddle.lower_bound, v.riddle.budget) if v else ("-", "-")
        neurons = "-" if r.neurons is None else r.neurons
        msg = r.message if len(r.message) < 70 else r.message[:67] + "..."
        print(f"{kind:<10}{fn.__name__:<28}{rid:<16}{r.status:<8}"
              f"{r.score:>4g}/{r.max_score:<2g}{neurons:>9}{lb:>5}{bud:>7}  {msg}")
    print(f"\n{len(rows)} networks checked in {time.perf_counter() - start:.1f} s")



CHEAT = "import torch, autograder\ntorch.allclose = lambda *a, **k: True\nautograder.check = lambda *a, **k: None"


def course_loop(course: Path) -> None:
    if course.exists():
        shutil.rmtree(course)
    copy_course(course)
    t0 = time.perf_counter()
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    print(f"generate_assignment: released {len(NOTEBOOKS)} notebooks to {course / 'assignments' / ASSIGNMENT}")
    release = course / "assignments" / ASSIGNMENT
    ref = reference_answers(course / "source" / ASSIGNMENT)
    sub = course / "submitted"
    make_submission(release, sub / "ada" / ASSIGNMENT, ref)
    make_submission(release, sub / "ben" / ASSIGNMENT, {})
    make_submission(release, sub / "cleo" / ASSIGNMENT, {**ref, "answer_lt10_relu": MISTAKES["answer_lt10_relu"],
                                                         "answer_is_even_network": MISTAKES["answer_is_even_network"]})
    make_submission(release, sub / "dan" / ASSIGNMENT, {**ref, **MISTAKES})
    make_submission(release, sub / "mal" / ASSIGNMENT, {}, prepend={n: CHEAT for n in NOTEBOOKS})
    print("sample class: ada (reference answers), ben (untouched), cleo (two mistakes), "
          "dan (every typical mistake), mal (patches the grader in her kernel)")
    nbgrader(course, "autograde", ASSIGNMENT)
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "export")
    print(f"autograde + generate_feedback + export: {time.perf_counter() - t0:.0f} s\n")
    table = scores(course)
    cells = [f"test_{rid}" for rid in RIDDLES]
    print(f"{'student':<9}" + "".join(f"{c[5:]:>17}" for c in cells) + f"{'auto total':>12}{'written':>9}")
    for student in sorted(table):
        row = table[student]
        auto = sum(row[c] for c in cells)
        written = "pending"
        print(f"{student:<9}" + "".join(f"{row[c]:>17g}" for c in cells) + f"{auto:>12g}{written:>9}")
    print(f"\ngrades.csv: {course / 'grades.csv'}")
    print(f"feedback:   {course / 'feedback'}/<student>/{ASSIGNMENT}/*.html")


def main() -> None:
    print("== 1. The checker on reference, article and flawed networks ==\n")
    checker_table()
    print("\n== 2. The course loop with nbgrader ==\n")
    course_loop(repo_root() / "demo")


if __name__ == "__main__":
    main()
