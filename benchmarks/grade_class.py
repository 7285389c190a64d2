"""riddles grade against nbgrader autograde on the same class; prints what it measured.

    python -m benchmarks.grade_class [--size 200] [--nbgrader-size 200] [--jobs 2]
    python -m benchmarks.grade_class --jail-price [--size 40] [--jobs 2]

`--jail-price` measures the price of the per-notebook jail instead: the same class graded by
`riddles grade` of this tree and of the commit before the jail (`--before`, default 5af1777,
checked out with `git archive` into a temporary folder and run with this environment's
packages), alternating, each `--repeat` times; it prints seconds per submission of each
and their ratio.

Builds a course with `size` submissions (a seeded mix of reference answers, typical
mistakes and untouched notebooks), grades the first `nbgrader-size` of them with
`nbgrader autograde` and all of them with `riddles grade`, checks that both give the same
per-riddle scores where both ran, and prints wall times, the ratio on the common part,
and the peak memory (RSS summed over the grader's process tree) of `riddles grade` for
the first 50 and for all submissions.  nbgrader takes about half a minute per submission
here, so a full 200-submission comparison takes hours; `--nbgrader-size` trades that
for a smaller common sample (the ratio is then measured on that sample).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.core.riddles import RIDDLES
from benchmarks.machine import describe
from solutions.course import ASSIGNMENT, copy_course, nbgrader, scores
from solutions.submissions import MISTAKES, make_submission, reference_answers


def _tree_rss(root: int) -> int:
    """Sum of RSS (bytes) over `root` and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as f:
                rss[int(entry)] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def run_measured(cmd: list[str], cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Run `cmd`; return its wall time, the peak RSS summed over its process tree (sampled
    every 0.1 s) and the finished process."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=cwd, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    done.set()
    t.join()
    return time.monotonic() - start, peak, subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def build_class(course: Path, size: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    release = course / "assignments" / ASSIGNMENT
    ref = reference_answers(course / "source" / ASSIGNMENT)
    for i in range(size):
        kind = rng.random()
        if kind < 0.5:
            answers = ref
        elif kind < 0.85:
            wrong = rng.sample(sorted(MISTAKES), rng.randint(1, 3))
            answers = {**ref, **{k: MISTAKES[k] for k in wrong}}
        else:
            answers = {}
        make_submission(release, course / "submitted" / f"s{i:03d}" / ASSIGNMENT, answers)


def riddles_grade(course: Path, out: Path, jobs: int) -> tuple[float, int, dict[str, dict[str, float]]]:
    cmd = [sys.executable, "-m", "autograder.frontends.cli", "grade", str(course), "--out", str(out),
           "--jobs", str(jobs), "--force"]
    secs, peak, proc = run_measured(cmd)
    if proc.returncode != 0:
        raise SystemExit(f"riddles grade failed:\n{proc.stdout[-2000:]}")
    with open(out / "grades.csv") as f:
        table = {r["student"]: {k: float(v) for k, v in r.items() if k not in ("student", "max_total")}
                 for r in csv.DictReader(f)}
    return secs, peak, table


def old_interpreter(commit: str, work: Path) -> Path:
    """A Python that imports the grader of `commit` (its sources from git, every other
    package from this environment), even under `python -I`."""
    tree = work / f"grader-{commit}"
    tree.mkdir()
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(repo), "archive", commit, "autograder"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    venv = work / "venv-before"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    here = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "torch").is_dir())
    (site / "riddles-before.pth").write_text(f"{tree}\n{here}\n")
    return venv / "bin" / "python"


def jail_price(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="riddles-bench-"))
    try:
        course = copy_course(work / "course")
        nbgrader(course, "generate_assignment", ASSIGNMENT)
        build_class(course, args.size)
        before = old_interpreter(args.before, work)
        print(describe())
        print(f"class: {args.size} submissions; jobs: {args.jobs}; "
              f"before = commit {args.before}, after = this tree")
        times: dict[str, list[float]] = {"before": [], "after": []}
        for i in range(args.repeat):
            for label, python in (("before", str(before)), ("after", sys.executable)):
                cmd = [python, "-m", "autograder.frontends.cli", "grade", str(course),
                       "--out", str(work / f"out-{label}"), "--jobs", str(args.jobs), "--force"]
                secs, peak, proc = run_measured(cmd, cwd=work)
                if proc.returncode != 0:
                    raise SystemExit(f"riddles grade ({label}) failed:\n{proc.stdout[-2000:]}")
                times[label].append(secs)
                print(f"run {i + 1} {label:>6}: {secs:.1f} s ({secs / args.size:.3f} s per submission), "
                      f"peak memory {peak / 2**20:.0f} MiB")
        b, a = min(times["before"]) / args.size, min(times["after"]) / args.size
        print(f"best of {args.repeat}: before {b:.3f} s per submission, after {a:.3f} s per submission; "
              f"after / before = {a / b:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def nbgrader_price(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="riddles-bench-"))
    try:
        shipped = copy_course(work / "shipped")
        nbgrader(shipped, "generate_assignment", ASSIGNMENT)
        build_class(shipped, args.size)
        plain = work / "plain"
        shutil.copytree(shipped, plain)
        config = plain / "nbgrader_config.py"
        text = config.read_text()
        if "    RiddleScores,\n" not in text:
            raise SystemExit("the shipped nbgrader_config.py no longer lists RiddleScores on a line of its own")
        config.write_text(text.replace("    RiddleScores,\n", ""))
        print(describe())
        print(f"nbgrader autograde of {args.size} submissions")
        for label, course in (("plain (no RiddleScores)", plain), ("shipped (RiddleScores, jailed)", shipped)):
            t = time.monotonic()
            nbgrader(course, "autograde", ASSIGNMENT, timeout=24 * 3600)
            secs = time.monotonic() - t
            print(f"{label:>32}: {secs:.1f} s ({secs / args.size:.2f} s per student)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--nbgrader-size", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--jail-price", action="store_true", help="time this tree against --before")
    ap.add_argument("--before", default="5af1777", help="the commit to compare with (default 5af1777)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--nbgrader-price", action="store_true",
                    help="time nbgrader autograde with and without RiddleScores")
    args = ap.parse_args()
    if args.nbgrader_price:
        nbgrader_price(args)
        return
    if args.jail_price:
        jail_price(args)
        return
    work = Path(tempfile.mkdtemp(prefix="riddles-bench-"))
    try:
        course = copy_course(work / "course")
        nbgrader(course, "generate_assignment", ASSIGNMENT)
        build_class(course, args.size)
        small = copy_course(work / "small")
        shutil.copytree(course / "assignments", small / "assignments")
        shutil.copy(course / "gradebook.db", small / "gradebook.db")
        for i in range(min(args.nbgrader_size, args.size)):
            shutil.copytree(course / "submitted" / f"s{i:03d}", small / "submitted" / f"s{i:03d}")
        k = min(args.nbgrader_size, args.size)
        print(describe())
        print(f"class: {args.size} submissions; nbgrader sample: {k}; jobs: {args.jobs}")

        t = time.monotonic()
        nbgrader(small, "autograde", ASSIGNMENT, timeout=24 * 3600)
        nb_secs = time.monotonic() - t
        nb_scores = scores(small)

        r_small, peak_small, table_small = riddles_grade(small, work / "out-small", args.jobs)
        mism = []
        for student, row in nb_scores.items():
            for cell, value in row.items():
                if cell.startswith("test_") and abs(table_small[student][cell[5:]] - value) > 1e-9:
                    mism.append((student, cell, value, table_small[student][cell[5:]]))
        print(f"nbgrader autograde, {k} submissions: {nb_secs:.1f} s ({nb_secs / k:.2f} s each)")
        print(f"riddles grade,      {k} submissions: {r_small:.1f} s ({r_small / k:.3f} s each), "
              f"peak memory {peak_small / 2**20:.0f} MiB")
        print(f"speed-up on the same {k} submissions: {nb_secs / r_small:.1f}x")
        print(f"scores identical on all {k} x {len(RIDDLES)} riddles: {not mism}"
              + (f" (first differences: {mism[:5]})" if mism else ""))

        fifty = copy_course(work / "fifty")
        shutil.copy(course / "gradebook.db", fifty / "gradebook.db")
        for i in range(min(50, args.size)):
            shutil.copytree(course / "submitted" / f"s{i:03d}", fifty / "submitted" / f"s{i:03d}")
        r50, peak50, _ = riddles_grade(fifty, work / "out-50", args.jobs)
        rall, peakall, _ = riddles_grade(course, work / "out-all", args.jobs)
        print(f"riddles grade, {min(50, args.size)} submissions: {r50:.1f} s, peak memory {peak50 / 2**20:.0f} MiB")
        print(f"riddles grade, {args.size} submissions: {rall:.1f} s ({rall / args.size:.3f} s each), "
              f"peak memory {peakall / 2**20:.0f} MiB")
        print(f"projected nbgrader time for {args.size} at the measured rate: {nb_secs / k * args.size:.0f} s; "
              f"projected ratio: {nb_secs / k * args.size / rall:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
