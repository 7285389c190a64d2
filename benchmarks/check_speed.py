"""How long does checking a submission take, once torch is imported?

Times `check_function` on every riddle's reference answer (is_even_network up to n = 64) and on
each deliberately flawed network, medians of several runs.  With `--before REF` the same
measurement also runs on the package as it was at git revision REF (exported to a temporary
folder), in the same session on the same machine, and the two are printed side by side.

Prints figures; asserts nothing about time (machines are shared and noisy)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.machine import describe

ROOT = Path(__file__).resolve().parents[1]

# Runs inside the tree being measured (this one, or an exported older revision): only the
# long-standing public API (check_function, solutions.reference, solutions.flawed) is used.
MEASURE = r'''
import json, statistics, sys, time
import torch
from autograder import check_function
from autograder.core.riddles import RIDDLES
from solutions import reference as R
from solutions.flawed import FLAWED
runs = int(sys.argv[1])
answers = [(getattr(R, rid), rid) for rid in RIDDLES if hasattr(R, rid)]
cpu = {}
def once(fn, rid):
    t, c = time.perf_counter(), time.process_time()
    check_function(fn, rid)
    cpu[rid] = time.process_time() - c
    return time.perf_counter() - t
for fn, rid in answers:
    once(fn, rid)  # warm-up: first use of torch.fx and numpy paths
per = {rid: [] for _, rid in answers}
per_cpu = {rid: [] for _, rid in answers}
totals, cpu_totals = [], []
for _ in range(runs):
    total = total_cpu = 0.0
    for fn, rid in answers:
        s = once(fn, rid)
        per[rid].append(s)
        per_cpu[rid].append(cpu[rid])
        total += s
        total_cpu += cpu[rid]
    totals.append(total)
    cpu_totals.append(total_cpu)
flawed = {f"{fn.__name__} ({rid})": min(once(fn, rid) for _ in range(2)) for fn, rid, *_ in FLAWED}
print(json.dumps({"per": {k: statistics.median(v) for k, v in per.items()},
                  "per_cpu": {k: statistics.median(v) for k, v in per_cpu.items()},
                  "total_median": statistics.median(totals), "total_min": min(totals),
                  "totals": totals, "cpu_totals": cpu_totals,
                  "flawed": flawed, "torch": torch.__version__}))
'''


def measure(tree: Path, runs: int) -> dict:  # type: ignore[type-arg]
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(runs)], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"measurement failed in {tree}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def export(ref: str, dest: Path) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REF", help="also measure git revision REF, side by side")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    now = measure(ROOT, args.runs)
    before = None
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            export(args.before, Path(tmp))
            before = measure(Path(tmp), args.runs)
    print(describe())
    print(f"medians of {args.runs} runs, seconds, after import and one warm-up")
    head = f"{'riddle':<18}{'now':>9}" + (f"{'before (' + args.before + ')':>22}" if before else "")
    print(head)
    for rid, secs in now["per"].items():
        old = f"{before['per'][rid]:>22.3f}" if before and rid in before["per"] else (f"{'-':>22}" if before else "")
        print(f"  {rid:<16}{secs:>9.3f}{old}")
    line = f"  {'all riddles':<16}{now['total_median']:>9.3f}"
    if before:
        line += f"{before['total_median']:>22.3f}"
    print(line + "   (median of the per-run totals)")
    slow = max(now["flawed"].items(), key=lambda kv: kv[1])
    print(f"slowest flawed network now: {slow[0]} {slow[1]:.3f} s"
          + (f"; before: {max(before['flawed'].values()):.3f} s" if before else ""))


if __name__ == "__main__":
    main()
