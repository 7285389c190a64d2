"""`riddles`: a thin command line over the backend.  Each command is one function."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .classgrade import display_name
from .forkserver import WorkerCrashed
from .jail import JailError
from .report import text
from .result import Report
from .riddles import RIDDLES
from .sandbox import UnusableInput, printable, printable_lines, run_notebook
from .submission import merge_runs


def check_notebook(path: str, *, riddles: list[str] | None = None, timeout: float = 300.0,
                   call_timeout: float = 30.0) -> tuple[Report, list[str]]:
    """Run a notebook in a jail of its own (the launcher every front end uses) and grade
    every riddle it defines.  Returns the report and notes on running it (a cell's error,
    a time-out), which the student should see too."""
    ids = riddles or list(RIDDLES)
    run = run_notebook(path, ids, timeout=timeout, cell_timeout=timeout, call_timeout=call_timeout)
    results, notes = merge_runs([(display_name(Path(path).name), run)], ids, timeout)
    return Report([results[rid] for rid in ids], source=display_name(str(path))), notes


def grade_command(args: argparse.Namespace) -> int:
    from .classgrade import OutputBusy, Unisolated, grade_class, summary
    from .gradebook import GradebookError
    from .store import StoreError

    if args.jobs is not None and args.jobs < 1 or args.timeout <= 0 or args.memory <= 0:
        print("riddles: error: --jobs, --timeout and --memory must be positive", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        res = grade_class(Path(args.path), out=out, jobs=args.jobs, timeout=args.timeout,
                          call_timeout=args.call_timeout, memory=int(args.memory * 1024**3),
                          force=args.force, gradebook=args.gradebook, allow_unisolated=args.allow_unisolated)
    except (UnusableInput, GradebookError, OutputBusy, StoreError, Unisolated) as e:
        print(f"riddles: error: {printable(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"riddles: error: {printable(str(e.filename or ''))}: {e.strerror or e}", file=sys.stderr)
        return 2
    if (out / "grades.csv").exists():
        print(summary(out))
    print(f"\ngraded {len(res.graded)}, already graded {len(res.skipped)}, failed {len(res.failed)} "
          f"in {res.seconds:.1f} s; outputs in {printable(str(out))}/")
    if res.failed:
        print("could not grade:", file=sys.stderr)
        for student, why in sorted(res.failed.items()):
            print(f"  {printable(student)}: {printable(why)}", file=sys.stderr)
    if res.store_error:
        print(f"riddles: error: {printable(res.store_error)}", file=sys.stderr)
        return 1
    return 1 if res.failed else 0


def gradescope_command(args: argparse.Namespace) -> int:
    from . import gradescope

    if args.action == "run":
        root = Path(args.root) if args.root else gradescope.root_from_env()
        data = gradescope.run(root, Path(args.config) if args.config else None)
        print(data["output"])  # Gradescope keeps stdout for the instructor (stdout_visibility: hidden)
        print(f"\nscore {data['score']:g}; results in {root / 'results' / 'results.json'}")
        return 0
    try:
        config = gradescope.GradescopeConfig(
            timeout=args.timeout, call_timeout=args.call_timeout, memory_gib=args.memory,
            max_notebooks=args.max_notebooks, visibility=args.visibility, torch=args.torch,
            torch_index=args.torch_index)
        out = gradescope.build_bundle(Path(args.out), config)
    except (ValueError, OSError) as e:
        print(f"riddles: error: {e}", file=sys.stderr)
        return 2
    total = sum(r.points.total for r in RIDDLES.values())
    print(f"wrote {out}: upload it as the assignment's autograder; set its autograder points to {total:g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riddles", description="Exact grading of hand-written neural networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="check the riddle functions a notebook defines")
    p.add_argument("notebook")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--riddle", action="append", choices=list(RIDDLES), help="check only this riddle (repeatable)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole notebook (default 300)")
    p.add_argument("--call-timeout", type=float, default=30.0,
                   help="seconds for each call of a riddle function (default 30)")
    g = sub.add_parser("grade", help="grade a class: an nbgrader course tree or a folder of notebooks")
    g.add_argument("path")
    g.add_argument("--jobs", type=int, default=None, help="parallel workers (default: the number of cores)")
    g.add_argument("--timeout", type=float, default=60.0, help="seconds per notebook (default 60)")
    g.add_argument("--call-timeout", type=float, default=20.0, help="seconds per riddle function call (default 20)")
    g.add_argument("--memory", type=float, default=4.0, help="memory limit per notebook in GiB (default 4)")
    g.add_argument("--force", action="store_true", help="grade again what is already graded")
    g.add_argument("--out", default="riddles-grades", help="output folder (default riddles-grades)")
    g.add_argument("--gradebook", action="store_true", help="record scores in the course's nbgrader gradebook")
    g.add_argument("--allow-unisolated", action="store_true",
                   help="grade even where no jail can be built (not root, no user namespaces): gives up "
                        "keeping notebooks from reading or changing each other's files, reports and processes")
    gs = sub.add_parser("gradescope", help="build a Gradescope autograder bundle, or run it in the container")
    gsub = gs.add_subparsers(dest="action", required=True)
    b = gsub.add_parser("build", help="write the autograder zip to upload to Gradescope")
    b.add_argument("--out", default="autograder.zip", help="where to write the zip (default autograder.zip)")
    b.add_argument("--timeout", type=float, default=60.0, help="seconds per notebook (default 60)")
    b.add_argument("--call-timeout", type=float, default=20.0, help="seconds per riddle function call (default 20)")
    b.add_argument("--memory", type=float, default=4.0, help="memory limit per notebook in GiB (default 4)")
    b.add_argument("--max-notebooks", type=int, default=5, help="notebooks graded per submission (default 5)")
    b.add_argument("--visibility", default="visible", choices=["visible", "after_due_date", "after_published", "hidden"],
                   help="when students see each riddle's result (default visible)")
    b.add_argument("--torch", default="torch", help="torch requirement setup.sh installs (default: torch)")
    b.add_argument("--torch-index", default="https://download.pytorch.org/whl/cpu",
                   help="package index for torch ('' for PyPI; default: PyTorch's CPU-only wheels)")
    r = gsub.add_parser("run", help="grade root/submission into root/results/results.json (what run_autograder does)")
    r.add_argument("--root", default=None, help="the autograder root (default $RIDDLES_AUTOGRADER_ROOT or /autograder)")
    r.add_argument("--config", default=None, help="the bundle's settings (default root/source/riddles-gradescope.json)")
    args = parser.parse_args(argv)
    if args.command == "grade":
        return grade_command(args)
    if args.command == "gradescope":
        return gradescope_command(args)
    if args.command == "check":
        if not Path(args.notebook).is_file():
            print(f"riddles: error: {printable(args.notebook)}: no such file", file=sys.stderr)
            return 2
        try:
            report, notes = check_notebook(args.notebook, riddles=args.riddle, timeout=args.timeout,
                                           call_timeout=args.call_timeout)
        except (UnusableInput, WorkerCrashed, JailError) as e:
            print(f"riddles: error: {printable(str(e))}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps({**report.to_json(), "notes": notes}, indent=2))
        else:
            print(printable_lines(text(report)))
            for note in notes:
                print(f"note: {printable(note)}")
        return 0 if report.all_pass else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
