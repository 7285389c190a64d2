"""`riddles`: a thin command line over the backend.  Each command is one function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checker import judge
from .report import text, to_json
from .result import Report, error
from .riddles import RIDDLES
from .sandbox import UnusableInput, run_notebook


def check_notebook(path: str, *, riddles: list[str] | None = None, timeout: float = 300.0,
                   call_timeout: float = 30.0) -> Report:
    """Run a notebook in a sandboxed child process and grade every riddle it defines."""
    ids = riddles or list(RIDDLES)
    run = run_notebook(path, ids, timeout=timeout, call_timeout=call_timeout)
    results = []
    for rid in ids:
        if rid in run.captures:
            results.append(judge(RIDDLES[rid], run.captures[rid]))
        elif run.timed_out:
            results.append(error(RIDDLES[rid], f"the notebook did not finish within {timeout:g} s"))
        elif not run.finished:
            results.append(error(RIDDLES[rid], f"the notebook's process ended early (exit code {run.exit_code})"))
        else:
            results.append(judge(RIDDLES[rid], None))
    return Report(results, source=str(path))


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
    args = parser.parse_args(argv)
    if args.command == "check":
        if not Path(args.notebook).is_file():
            print(f"riddles: error: {args.notebook}: no such file", file=sys.stderr)
            return 2
        try:
            report = check_notebook(args.notebook, riddles=args.riddle, timeout=args.timeout,
                                    call_timeout=args.call_timeout)
        except UnusableInput as e:
            print(f"riddles: error: {e}", file=sys.stderr)
            return 2
        print(to_json(report) if args.json else text(report))
        return 0 if report.all_pass else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
