"""Per-submission cost of the Gradescope bundle and the pytest plugin, end to end.

Builds the bundle, unpacks it into a temporary root laid out like /autograder and runs its
run_autograder (with this environment's Python) on a correct and on a flawed submission of
the three released notebooks; then runs `pytest --submission` on the same notebooks.  With
`--setup` it also runs the bundle's setup.sh once into a fresh root (torch from this machine's
pip configuration, as the tests do) and reports its time and the size of the venv it made.  Each
timing is a whole process: Python start, torch import in the grading worker, three jailed
notebooks, judging, writing results.  Prints figures; asserts nothing about time.

    python -m benchmarks.grade_anywhere [--repeat 5] [--setup]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from autograder.frontends.gradescope import GradescopeConfig, build_bundle
from benchmarks.grade_class import run_measured
from solutions.submissions import MISTAKES, make_submission, reference_answers

ROOT = Path(__file__).resolve().parents[1]


PEAK: dict[str, int] = {}  # label -> peak RSS of the whole process tree over its runs


def _timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, expect: int = 0, label: str = "") -> float:
    seconds, peak, proc = run_measured(cmd, cwd=cwd, env=env)
    if proc.returncode != expect:
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}, expected {expect}")
    PEAK[label] = max(PEAK.get(label, 0), peak)
    return seconds


def _summary(label: str, times: list[float]) -> str:
    return (f"{label:<44} median {statistics.median(times):6.2f} s  min {min(times):6.2f} s  "
            f"max {max(times):6.2f} s  ({len(times)} runs)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--setup", action="store_true", help="also time setup.sh into a fresh root")
    args = ap.parse_args()
    answers = reference_answers(ROOT / "source" / "riddles")
    work = Path(tempfile.mkdtemp(prefix="riddles-bench-"))
    try:
        zip_path = build_bundle(work / "autograder.zip", GradescopeConfig())
        print(f"bundle: {zip_path.stat().st_size / 1024:.0f} KiB")
        for label, ans in (("correct", answers), ("flawed", {**answers, **MISTAKES})):
            sub = make_submission(ROOT / "assignments" / "riddles", work / f"sub-{label}", ans)
            root = work / f"ag-{label}"
            (root / "source").mkdir(parents=True)
            with zipfile.ZipFile(zip_path) as zf:
                zf.extractall(root / "source")
            shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
            (root / "run_autograder").chmod(0o755)
            shutil.copytree(sub, root / "submission")
            env = {**os.environ, "RIDDLES_AUTOGRADER_ROOT": str(root), "RIDDLES_PYTHON": sys.executable}
            gs = [_timed([str(root / "run_autograder")], root, env, label=f"run_autograder, {label}")
                  for _ in range(args.repeat)]
            score = json.loads((root / "results" / "results.json").read_text())["score"]
            print(_summary(f"run_autograder, {label} (score {score:g})", gs))
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--submission", str(sub)]
            pt = [_timed(cmd, work, expect=0 if label == "correct" else 1, label=f"pytest --submission, {label}")
                  for _ in range(args.repeat)]
            print(_summary(f"pytest --submission, {label}", pt))
        if args.setup:
            _setup(work)
        for label, peak in PEAK.items():
            if label:
                print(f"peak RSS of the whole process tree, {label:<30} {peak / 2**20:6.0f} MiB")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"largest single process seen (ru_maxrss of children): {peak:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _setup(work: Path) -> None:
    torch = f"torch=={metadata.version('torch').split('+')[0]}"
    zip_path = build_bundle(work / "setup.zip", GradescopeConfig(torch=torch, torch_index=""))
    root = work / "setup-root"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    seconds = _timed(["bash", str(root / "source" / "setup.sh")], root / "source",
                     {**env, "RIDDLES_AUTOGRADER_ROOT": str(root)})
    size = sum(p.stat().st_size for p in (root / "venv").rglob("*") if p.is_file() and not p.is_symlink())
    print(f"setup.sh ({torch}, pip's cache as it is on this machine): {seconds:.1f} s, "
          f"venv {size / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
