"""`riddles`: a thin command line over the backend.  Each command is one function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import limits as limits_mod
from .limits import Limits
from .plan import read_plan
from .report import text, to_json
from .result import Report
from .riddles import RIDDLES
from .sandbox import UnusableInput, run_cells
from .submission import NotebookRun, merge_runs


def check_notebook(path: str, *, riddles: list[str] | None = None, limits: Limits = limits_mod.DEFAULT) -> Report:
    """Run a notebook in a sandboxed child process and judge the riddles it is about (its
    nbgrader test cells, or the riddles it defines), or the ones asked for."""
    plan = read_plan(path)
    run = run_cells(plan.cells, list(RIDDLES), timeout=limits.notebook, cell_timeout=limits.cell,
                    call_timeout=limits.call, memory=limits.memory_bytes, turns=plan.turns, numbers=plan.numbers)
    nb = NotebookRun(Path(path).name, plan.about, plan.definers, run)
    captured = [rid for rid in RIDDLES if (run.captures.get(rid) or {}).get("status") not in (None, "missing")]
    about = [rid for rid in RIDDLES if rid in plan.about or (not plan.tested and rid in captured)]
    ids = riddles or about or list(RIDDLES)
    results, notes = merge_runs([nb], ids, limits)
    skipped = [rid for rid in RIDDLES if rid not in ids]
    if not riddles and not about:
        notes.insert(0, f"{Path(path).name} defines none of the riddles ({', '.join(RIDDLES)})")
    return Report([results[rid] for rid in ids], source=str(path), notes=notes, skipped=skipped,
                  skipped_why="not asked for (--riddle)" if riddles else "this notebook is not about them")


def _limits(args: argparse.Namespace) -> Limits:
    return limits_mod.from_arguments(lambda dest: getattr(args, dest))


def grade_command(args: argparse.Namespace) -> int:
    from .classgrade import grade_class, summary
    from .gradebook import GradebookError

    try:
        if args.jobs is not None and args.jobs < 1:
            raise ValueError("--jobs must be positive")
        limits = _limits(args)
    except ValueError as e:
        print(f"riddles: error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        res = grade_class(Path(args.path), out=out, jobs=args.jobs, limits=limits, force=args.force,
                          gradebook=args.gradebook)
    except (UnusableInput, GradebookError, OSError) as e:
        print(f"riddles: error: {e}", file=sys.stderr)
        return 2
    print(summary(out))
    print(f"\ngraded {len(res.graded)}, already graded {len(res.skipped)}, failed {len(res.failed)} "
          f"in {res.seconds:.1f} s; outputs in {out}/")
    code = 0
    if res.gradebook is not None:
        gb = res.gradebook
        print(f"gradebook: {gb.written} grade(s) written, {gb.unchanged} already the same, "
              f"{len(gb.conflicts)} kept as nbgrader graded them")
        if gb.conflicts:
            print("nbgrader's grade differs from riddles grade (nbgrader's kept; grade both with the same "
                  "limits, or remove nbgrader's autograded grade to use this one):", file=sys.stderr)
            for line in gb.conflicts[:50]:
                print(f"  {line}", file=sys.stderr)
            code = 1
    if res.failed:
        print("could not grade:", file=sys.stderr)
        for student, why in sorted(res.failed.items()):
            print(f"  {student}: {why}", file=sys.stderr)
        return 1
    return code


def gradescope_command(args: argparse.Namespace) -> int:
    from . import gradescope

    if args.action == "run":
        root = Path(args.root) if args.root else gradescope.root_from_env()
        data = gradescope.run(root, Path(args.config) if args.config else None)
        print(data["output"])  # Gradescope keeps stdout for the instructor (stdout_visibility: hidden)
        print(f"\nscore {data['score']:g}; results in {root / 'results' / 'results.json'}")
        return 0
    try:
        limits = _limits(args)
        config = gradescope.GradescopeConfig(
            timeout=limits.notebook, cell_timeout=limits.cell, call_timeout=limits.call, memory_gib=limits.memory_gib,
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
    p = sub.add_parser("check", help="check the riddles a notebook is about (its test cells, or the functions it defines)")
    p.add_argument("notebook")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--riddle", action="append", choices=list(RIDDLES), help="check only this riddle (repeatable)")
    limits_mod.add_arguments(p)
    g = sub.add_parser("grade", help="grade a class: an nbgrader course tree or a folder of notebooks")
    g.add_argument("path")
    g.add_argument("--jobs", type=int, default=None, help="parallel workers (default: the number of cores)")
    limits_mod.add_arguments(g)
    g.add_argument("--force", action="store_true", help="grade again what is already graded")
    g.add_argument("--out", default="riddles-grades", help="output folder (default riddles-grades)")
    g.add_argument("--gradebook", action="store_true", help="record scores in the course's nbgrader gradebook")
    gs = sub.add_parser("gradescope", help="build a Gradescope autograder bundle, or run it in the container")
    gsub = gs.add_subparsers(dest="action", required=True)
    b = gsub.add_parser("build", help="write the autograder zip to upload to Gradescope")
    b.add_argument("--out", default="autograder.zip", help="where to write the zip (default autograder.zip)")
    limits_mod.add_arguments(b)
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
            print(f"riddles: error: {args.notebook}: no such file", file=sys.stderr)
            return 2
        try:
            report = check_notebook(args.notebook, riddles=args.riddle, limits=_limits(args))
        except (UnusableInput, ValueError) as e:
            print(f"riddles: error: {e}", file=sys.stderr)
            return 2
        print(to_json(report) if args.json else text(report))
        return 0 if report.all_pass else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
