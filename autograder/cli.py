"""`riddles`: a thin command line over the backend.  Each command is one function."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from . import __version__
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


def scoreboard_command(args: argparse.Namespace) -> int:
    """`riddles check DIR`: every notebook of a course folder, one scoreboard."""
    from . import scoreboard

    folder = Path(args.notebook)
    notebooks = scoreboard.course_notebooks(folder)
    if not notebooks:
        print(f"riddles: error: {folder}: no notebooks (.ipynb) in this folder", file=sys.stderr)
        return 2
    reports, notes = [], []
    for nb in notebooks:
        name = nb.relative_to(folder).as_posix()
        try:
            report, run_notes = check_notebook(str(nb), riddles=args.riddle, timeout=args.timeout,
                                               call_timeout=args.call_timeout)
        except (UnusableInput, WorkerCrashed, JailError) as e:
            notes.append(f"{name}: {printable(str(e))}")
            continue
        reports.append((name, report))
        notes += [printable(n) for n in run_notes]
    board = scoreboard.combine(folder.resolve().name or str(folder), reports, notes)
    if args.json:
        print(json.dumps({"folder": str(folder), "score": board.score, "max_score": board.max_score,
                          "sources": board.sources, "notes": board.notes,
                          "riddles": [r.to_json() for r in board.results]}, indent=2))
    else:
        print(scoreboard.text(board))
    if args.html:
        return _write_html(Path(args.html), scoreboard.page(board), board.all_pass)
    return 0 if board.all_pass else 1


def _write_html(path: Path, page: str, ok: bool) -> int:
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as e:
        print(f"riddles: error: cannot write {path}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {path}", file=sys.stderr)
    return 0 if ok else 1


def start_command(args: argparse.Namespace) -> int:
    from .files import MissingCourseFiles
    from .start import StartRefused, open_lab, start

    dest = Path(args.dir)
    try:
        written = start(dest, force=args.force)
    except (StartRefused, MissingCourseFiles) as e:
        print(f"riddles: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"riddles: error: cannot write to {dest}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"copied {len(written)} files into {dest}/ (the notebooks, README.md, docs/theory.md)")
    if args.open:
        try:
            open_lab(dest)
        except StartRefused as e:
            print(f"riddles: error: {e}", file=sys.stderr)
            return 2
    print(f"next: jupyter lab {shlex.quote(str(dest))}")
    return 0


def course_command(args: argparse.Namespace) -> int:
    from .files import MissingCourseFiles
    from .newcourse import CourseExists, new_course

    dest = Path(args.dir)
    try:
        new_course(dest, source_root=Path(args.source) if args.source else None, force=args.force)
    except (CourseExists, MissingCourseFiles) as e:
        print(f"riddles: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"riddles: error: cannot write to {dest}: {e.strerror or e}", file=sys.stderr)
        return 2
    q = shlex.quote(str(dest))
    print(f"made the course {dest}/ (source/riddles/, nbgrader_config.py, .gitignore, README.md)\n"
          f"next: cd {q} && nbgrader generate_assignment riddles")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riddles", description="Exact grading of hand-written neural networks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("start", help="copy the student notebooks, the theory and a README into a folder")
    st.add_argument("dir", nargs="?", default="neuron-riddles", help="where (default ./neuron-riddles)")
    st.add_argument("--force", action="store_true", help="overwrite notebooks already there (your work!)")
    st.add_argument("--open", action="store_true", help="then start Jupyter Lab in that folder")
    co = sub.add_parser("course", help="instructors: make a course directory")
    cosub = co.add_subparsers(dest="action", required=True)
    cn = cosub.add_parser("new", help="a fresh nbgrader course: config, instructor notebooks, .gitignore, README")
    cn.add_argument("dir")
    cn.add_argument("--from", dest="source", default=None,
                    help="the course repository checkout to copy from (default: the one installed with pip -e)")
    cn.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    p = sub.add_parser("check", help="check a notebook, or every notebook of a folder (a scoreboard)")
    p.add_argument("notebook", help="a notebook, or a folder of notebooks")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--html", default=None, metavar="FILE", help="also write the scoreboard as an HTML page")
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
    if args.command == "start":
        return start_command(args)
    if args.command == "course":
        return course_command(args)
    if args.command == "check" and Path(args.notebook).is_dir():
        return scoreboard_command(args)
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
        if args.html:
            from . import scoreboard

            board = scoreboard.combine(Path(args.notebook).name, [(Path(args.notebook).name, report)])
            return _write_html(Path(args.html), scoreboard.page(board), report.all_pass)
        return 0 if report.all_pass else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
