"""The three speed ratios instructors ask about, measured in one run on one machine.

    python -m benchmarks.ratios [--before REV,REV] [--size 200] [--nbgrader-size 4] [--jobs N]
    make bench-all

1. Every riddle's reference answer checked in this process (`check_function`, medians
   after import): this tree against the git revisions `--before`, side by side.
2. `nbgrader autograde` with the shipped `nbgrader_config.py` (the RiddleScores preprocessor,
   jailed) against plain nbgrader executing the same notebooks without it, on the same
   `--nbgrader-size` submissions, per student.
3. `riddles grade` on a class of `--size` submissions against nbgrader autograde (shipped
   configuration, from 2) per submission, and whether both gave the same scores on the
   submissions both graded.

Also the student's side: the first `check(...)` in a fresh Python process (import of the
package included; torch imported before, as a notebook that defines a network has done), and
`riddles check` on each right notebook and on their folder, timed as a student waits for it
(the command from start to exit).

Prints figures with the core count, torch and Python versions; asserts nothing about time.
nbgrader takes tens of seconds per submission, so its sample is small by default; the
ratios are per submission."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.core.riddles import RIDDLES
from benchmarks.check_speed import ROOT, export, measure
from benchmarks.grade_class import build_class, riddles_grade
from benchmarks.machine import describe
from solutions.course import ASSIGNMENT, copy_course, nbgrader, scores
from solutions.submissions import make_submission, reference_answers

FIRST_CHECK = r'''
import time
import torch
from solutions.reference import is_even_network
t = time.perf_counter()
from autograder import check
check(is_even_network)
print(time.perf_counter() - t)
'''


def five_riddles(befores: list[str], runs: int, rounds: int = 3) -> None:
    """Each tree measured in `rounds` fresh processes of `runs` runs, the trees taking turns
    (so that a neighbour's load falls on all of them alike); wall and CPU-time medians."""
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"now": ROOT}
        for rev in befores:
            trees[rev] = Path(tmp) / rev
            trees[rev].mkdir()
            export(rev, trees[rev])
        got: dict[str, list[dict]] = {label: [] for label in trees}  # type: ignore[type-arg]
        for _ in range(rounds):
            for label, tree in trees.items():
                got[label].append(measure(tree, runs))

    def med(label: str, key: str, rid: str | None = None) -> float:
        if rid is None:
            return statistics.median(v for m in got[label] for v in m[key])
        return statistics.median(m[key][rid] for m in got[label] if rid in m[key])

    labels = list(trees)
    print(f"\n1. every riddle, reference answers, seconds after import ({rounds} processes x {runs} runs "
          "per tree, taking turns; medians; wall / CPU time)")
    print(f"   {'riddle':<18}" + "".join(f"{('at ' + lb) if lb != 'now' else lb:>20}" for lb in labels))
    for rid in got["now"][0]["per"]:
        print(f"   {rid:<18}" + "".join(f"{med(lb, 'per', rid):>11.3f} / {med(lb, 'per_cpu', rid):.3f}"
                                        if any(rid in m["per"] for m in got[lb]) else f"{'-':>20}"
                                        for lb in labels))
    print(f"   {'all riddles':<18}"
          + "".join(f"{med(lb, 'totals'):>11.3f} / {med(lb, 'cpu_totals'):.3f}" for lb in labels))
    for rev in befores:
        wall = med(rev, "totals") / med("now", "totals")
        cpu = med(rev, "cpu_totals") / med("now", "cpu_totals")
        print(f"   at {rev} / now: {wall:.2f}x in wall time, {cpu:.2f}x in CPU time (above 1: now is faster)")
    print(f"   goal: the five riddles under 0.3 s (now {len(RIDDLES)} riddles, is_even_network up to n = 64)")
    slow = max(got["now"][0]["flawed"].items(), key=lambda kv: kv[1])
    print(f"   slowest flawed network now: {slow[0]} {slow[1]:.3f} s (goal < 1 s); "
          + "; ".join(f"at {rev}: {max(got[rev][0]['flawed'].values()):.3f} s" for rev in befores))


def student_side(work: Path, runs: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    firsts = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", FIRST_CHECK], cwd=work, env=env, capture_output=True,
                              text=True, check=True)
        firsts.append(float(proc.stdout.strip().splitlines()[-1]))
    right = make_submission(ROOT / "assignments" / ASSIGNMENT, work / "right",
                            reference_answers(ROOT / "source" / ASSIGNMENT))
    print(f"\n   first check(is_even_network) in a fresh process, import included: median "
          f"{statistics.median(firsts):.2f} s of {runs} (goal < 2 s)")
    said = ""
    for target in [*sorted(right.glob("*.ipynb")), right]:
        cli = [sys.executable, "-m", "autograder.frontends.cli", "check", str(target)]
        walls = []
        for _ in range(runs):
            t = time.perf_counter()
            proc = subprocess.run(cli, cwd=work, capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(f"riddles check {target.name} failed ({proc.returncode}):\n{proc.stdout[-1500:]}")
            flat = " ".join(proc.stdout.split())  # the note may be wrapped over lines
            start = flat.find("run as nbgrader grades it")
            said = said or (flat[start:flat.index("see them", start) + len("see them")]
                            if start >= 0 and "see them" in flat[start:] else "")
        what = f"the folder of all {len(list(right.glob('*.ipynb')))} notebooks" if target == right else target.name
        print(f"   riddles check on {what} (right answers), command to exit: median "
              f"{statistics.median(walls):.2f} s of {runs}" + (" (goal < 5 s)" if target != right else ""))
    print(f"   it says: {said or '(nothing about explorations)'}")


def nbgrader_and_grade(work: Path, size: int, sample: int, jobs: int) -> None:
    course = copy_course(work / "course")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    build_class(course, size)
    courses = {}
    for label, keep in (("plain", False), ("shipped", True)):
        c = copy_course(work / label)
        shutil.copytree(course / "assignments", c / "assignments")
        shutil.copy(course / "gradebook.db", c / "gradebook.db")
        for i in range(sample):
            shutil.copytree(course / "submitted" / f"s{i:03d}", c / "submitted" / f"s{i:03d}")
        if not keep:
            config = c / "nbgrader_config.py"
            text = config.read_text()
            if "    RiddleScores,\n" not in text:
                raise SystemExit("the shipped nbgrader_config.py no longer lists RiddleScores on a line of its own")
            config.write_text(text.replace("    RiddleScores,\n", ""))
        courses[label] = c
    secs = {}
    for label in ("plain", "shipped"):
        t = time.monotonic()
        nbgrader(courses[label], "autograde", ASSIGNMENT, timeout=24 * 3600)
        secs[label] = (time.monotonic() - t) / sample
    print(f"\n2. nbgrader autograde, the same {sample} submissions, seconds per student")
    print(f"   plain nbgrader (no RiddleScores): {secs['plain']:.2f}")
    print(f"   shipped config (RiddleScores, jailed): {secs['shipped']:.2f}"
          f"   -> {secs['shipped'] / secs['plain']:.2f}x plain nbgrader (goal <= 1.3x)")

    fifty = copy_course(work / "fifty")
    for i in range(min(50, size)):
        shutil.copytree(course / "submitted" / f"s{i:03d}", fifty / "submitted" / f"s{i:03d}")
    _, peak50, _ = riddles_grade(fifty, work / "out-50", jobs)
    wall, peak, table = riddles_grade(course, work / "out", jobs)
    per = wall / size
    nb = scores(courses["shipped"])
    diff = [(s, cell, v, table[s][cell[5:]]) for s, row in nb.items() for cell, v in row.items()
            if cell.startswith("test_") and abs(table[s][cell[5:]] - v) > 1e-9]
    print(f"\n3. riddles grade, class of {size}, --jobs {jobs}: {wall:.1f} s, {per:.3f} s per submission, "
          f"peak memory {peak / 2**20:.0f} MiB (RSS summed over its processes; {peak50 / 2**20:.0f} MiB for "
          f"the first {min(50, size)})")
    print(f"   nbgrader autograde (shipped config): {secs['shipped']:.2f} s per submission"
          f"   -> riddles grade is {secs['shipped'] / per:.0f}x faster per submission (goal >= 60x)")
    print(f"   same scores on the {sample} submissions both graded (x {len(RIDDLES)} riddles): {not diff}"
          + (f"; first differences: {diff[:5]}" if diff else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="c126d6c,5af1777",
                    help="git revisions for the five-riddle comparison, comma-separated (default: main before "
                         "the speed work, and before the verdict work)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=200, help="class size for riddles grade")
    ap.add_argument("--nbgrader-size", type=int, default=4, help="submissions nbgrader grades (each way)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    print(describe())
    described = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                               capture_output=True, text=True).stdout.strip()
    print(f"commit: {described}")
    five_riddles(args.before.split(","), args.runs)
    work = Path(tempfile.mkdtemp(prefix="riddles-ratios-"))
    try:
        student_side(work, 3)
        nbgrader_and_grade(work, args.size, min(args.nbgrader_size, args.size), args.jobs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
