"""`riddles`: a thin command line over the backend.  Each command is one function."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from .. import __version__
from ..core import limits as limits_mod
from ..core.limits import Limits
from ..core.result import Report
from ..core.riddles import RIDDLES
from ..jail.confine import JailError
from ..jail.forkserver import ForkServer, WorkerCrashed
from ..jail.judging import NotebookRun, merge_runs
from ..jail.plan import read_plan
from ..jail.sandbox import UnusableInput, printable, printable_lines, run_cells
from ..render.text import text, to_json
from .classgrade import display_name

AS_GRADED = ("run as nbgrader grades it (NBGRADER_EXECUTION set): the cells it guards, such as the "
             "training explorations, were skipped; open the notebook in Jupyter to see them")


def check_notebook(path: str, *, riddles: list[str] | None = None, limits: Limits = limits_mod.DEFAULT,
                   server: ForkServer | None = None) -> Report:
    """Run a notebook in a jail of its own (the launcher every front end uses) and judge the
    riddles it is about (its nbgrader test cells, or the riddles it defines), or the ones
    asked for.  The report's notes say how the notebook ran (a cell's error, a time-out).
    `server`: a running launcher to reuse (a folder's notebooks share one; torch is imported once)."""
    plan = read_plan(path)
    run = run_cells(plan.cells, list(RIDDLES), timeout=limits.notebook, cell_timeout=limits.cell,
                    call_timeout=limits.call, memory=limits.memory_bytes, turns=plan.turns, numbers=plan.numbers,
                    server=server)
    name = display_name(Path(path).name)
    nb = NotebookRun(name, plan.about, plan.definers, run)
    captured = [rid for rid in RIDDLES if (run.captures.get(rid) or {}).get("status") not in (None, "missing")]
    about = [rid for rid in RIDDLES if rid in plan.about or (not plan.tested and rid in captured)]
    ids = riddles or about or list(RIDDLES)
    results, notes = merge_runs([nb], ids, limits)
    skipped = [rid for rid in RIDDLES if rid not in ids]
    if not riddles and not about:
        notes.insert(0, f"{name} defines none of the riddles ({', '.join(RIDDLES)})")
    if any("NBGRADER_EXECUTION" in src for src in plan.cells):
        notes.append(AS_GRADED)
    return Report([results[rid] for rid in ids], source=display_name(str(path)), notes=notes, skipped=skipped,
                  skipped_why="not asked for (--riddle)" if riddles else "this notebook is not about them")


def _limits(args: argparse.Namespace) -> Limits:
    names = tuple(n for n, flag in limits_mod.FLAGS.items() if hasattr(args, flag.replace("-", "_")))
    return limits_mod.from_arguments(lambda dest: getattr(args, dest), names=names)


def grade_command(args: argparse.Namespace) -> int:
    from .classgrade import OutputBusy, Unisolated, grade_class, summary
    from .gradebook import GradebookError
    from .store import StoreError

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
                          gradebook=args.gradebook, allow_unisolated=args.allow_unisolated)
    except (UnusableInput, GradebookError, OutputBusy, StoreError, Unisolated, OSError) as e:
        print(f"riddles: error: {printable(str(e))}", file=sys.stderr)
        return 2
    if (out / "grades.csv").exists():
        print(summary(out))
    print(f"\ngraded {len(res.graded)}, already graded {len(res.skipped)}, failed {len(res.failed)} "
          f"in {res.seconds:.1f} s; outputs in {printable(str(out))}/")
    code = 1 if res.failed else 0
    if res.gradebook is not None:
        gb = res.gradebook
        print(f"gradebook: {gb.written} grade(s) written, {gb.unchanged} already the same, "
              f"{len(gb.conflicts)} kept as nbgrader graded them")
        if gb.conflicts:
            print("nbgrader's grade differs from riddles grade (nbgrader's kept; grade both with the same "
                  "limits, or remove nbgrader's autograded grade to use this one):", file=sys.stderr)
            for line in gb.conflicts[:50]:
                print(f"  {printable(line)}", file=sys.stderr)
            code = 1
    if res.failed:
        print("could not grade:", file=sys.stderr)
        for student, why in sorted(res.failed.items()):
            print(f"  {printable(student)}: {printable(why)}", file=sys.stderr)
    if res.store_error:
        print(f"riddles: error: {printable(res.store_error)}", file=sys.stderr)
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
        config = gradescope.GradescopeConfig(limits=limits, visibility=args.visibility, torch=args.torch,
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
    from ..render import scoreboard

    folder = Path(args.notebook)
    notebooks = scoreboard.course_notebooks(folder)
    if not notebooks:
        print(f"riddles: error: {folder}: no notebooks (.ipynb) in this folder", file=sys.stderr)
        return 2
    reports, notes = [], []
    with ForkServer() as server:  # one launcher for the folder: torch is imported once, not per notebook
        for nb in notebooks:
            name = nb.relative_to(folder).as_posix()
            try:
                report = check_notebook(str(nb), riddles=args.riddle, limits=_limits(args), server=server)
            except (UnusableInput, WorkerCrashed, JailError, ValueError) as e:
                notes.append(f"{name}: {printable(str(e))}")
                continue
            reports.append((name, report))
            notes += [printable(f"{name}: {n}") for n in report.notes if n != AS_GRADED]
    if any(AS_GRADED in r.notes for _, r in reports):
        notes.append(f"all notebooks: {AS_GRADED}")
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


def _load_course(args: argparse.Namespace) -> str:
    """Put the course's own riddles (docs/authoring.md) in the registry for the commands that
    grade: the course being graded (`riddles grade COURSE`), else the one the working directory
    is in.  Returns what went wrong ('' when nothing did)."""
    from ..core.course_riddles import CONFIG_FILE, CourseRiddleError, use_course

    if args.command not in ("check", "grade") and not (args.command == "gradescope" and args.action == "build"):
        return ""
    graded = Path(args.path) if args.command == "grade" else None
    try:
        use_course(graded if graded is not None and (graded / CONFIG_FILE).is_file() else None)
    except CourseRiddleError as e:
        return str(e)
    unknown = [rid for rid in getattr(args, "riddle", None) or [] if rid not in RIDDLES]
    if unknown:
        return f"--riddle {unknown[0]}: no such riddle (choose from {', '.join(RIDDLES)})"
    return ""


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
    p = sub.add_parser("check", help="check the riddles a notebook is about (its test cells, or the functions "
                                     "it defines), or every notebook of a folder (a scoreboard)")
    p.add_argument("notebook", help="a notebook, or a folder of notebooks")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--html", default=None, metavar="FILE", help="also write the scoreboard as an HTML page")
    p.add_argument("--riddle", action="append", metavar="ID",
                   help="check only this riddle (repeatable; the package's riddles and the course's)")
    limits_mod.add_arguments(p, names=limits_mod.PER_NOTEBOOK)
    g = sub.add_parser("grade", help="grade a class: an nbgrader course tree or a folder of notebooks")
    g.add_argument("path")
    g.add_argument("--jobs", type=int, default=None, help="parallel workers (default: the number of cores)")
    limits_mod.add_arguments(g)
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
    limits_mod.add_arguments(b)
    b.add_argument("--visibility", default="visible",
                   choices=["visible", "after_due_date", "after_published", "hidden"],
                   help="when students see each riddle's result (default visible)")
    b.add_argument("--torch", default="torch", help="torch requirement setup.sh installs (default: torch)")
    b.add_argument("--torch-index", default="https://download.pytorch.org/whl/cpu",
                   help="package index for torch ('' for PyPI; default: PyTorch's CPU-only wheels)")
    r = gsub.add_parser("run", help="grade root/submission into root/results/results.json (what run_autograder does)")
    r.add_argument("--root", default=None, help="the autograder root (default $RIDDLES_AUTOGRADER_ROOT or /autograder)")
    r.add_argument("--config", default=None, help="the bundle's settings (default root/source/riddles-gradescope.json)")
    args = parser.parse_args(argv)
    problem = _load_course(args)
    if problem:
        print(f"riddles: error: {printable(problem)}", file=sys.stderr)
        return 2
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
            report = check_notebook(args.notebook, riddles=args.riddle, limits=_limits(args))
        except (UnusableInput, WorkerCrashed, JailError, ValueError) as e:
            print(f"riddles: error: {printable(str(e))}", file=sys.stderr)
            return 2
        print(to_json(report) if args.json else printable_lines(text(report)))
        if args.html:
            from ..render import scoreboard

            board = scoreboard.combine(Path(args.notebook).name, [(Path(args.notebook).name, report)])
            return _write_html(Path(args.html), scoreboard.page(board), report.all_pass)
        return 0 if report.all_pass else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
