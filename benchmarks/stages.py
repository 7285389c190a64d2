"""Where the time of one check goes: each stage of `check_function`, per riddle.

    python -m benchmarks.stages [--runs 5] [RIDDLE ...]

Wraps the stages the checker calls (capture, the forward-pass sweep, the single-input runs,
the state fingerprints, the exact verdict) with timers, checks each riddle's reference answer
`--runs` times after a warm-up, and prints the median seconds per stage.  Stages nest:
`trace` is part of `capture`.  Prints figures; asserts nothing about time."""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from benchmarks.machine import describe

STAGES = [  # (module, function, what it is)
    ("autograder.core.capture", "trace", "torch.fx trace"),
    ("autograder.core.capture", "capture", "capture: trace, replay, recorded real run"),
    ("autograder.core.capture", "forward_outputs", "forward pass on the public samples"),
    ("autograder.core.fidelity", "forward_sweep", "forward-pass sweep of the graded inputs"),
    ("autograder.core.fidelity", "single_rows", "single-input runs"),
    ("autograder.core.pristine", "module_state", "state fingerprints (before and after)"),
    ("autograder.core.checker", "from_json", "reading the description"),
    ("autograder.core.checker", "verify", "exact verdict"),
]


def _timed(fn: Callable[..., Any], label: str, spent: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start
    return wrapper


def main() -> None:
    import importlib

    import torch  # noqa: F401 - imported before timing, as a notebook has

    from autograder import check_function
    from autograder.core.riddles import RIDDLES
    from solutions import reference

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("riddles", nargs="*", help="riddle ids (default: every riddle with a reference answer)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    spent: dict[str, float] = defaultdict(float)
    for mod_name, fn_name, label in STAGES:
        mod = importlib.import_module(mod_name)
        setattr(mod, fn_name, _timed(getattr(mod, fn_name), label, spent))
    ids = args.riddles or [rid for rid in RIDDLES if hasattr(reference, rid)]
    print(describe())
    print(f"medians of {args.runs} checks after one warm-up, seconds")
    for rid in ids:
        fn = getattr(reference, rid)
        check_function(fn, rid)
        per: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.runs):
            spent.clear()
            start = time.perf_counter()
            check_function(fn, rid)
            per["whole check"].append(time.perf_counter() - start)
            for _, _, label in STAGES:
                per[label].append(spent[label])
        print(f"{rid}")
        for label, values in per.items():
            print(f"  {label:<44}{statistics.median(values):>8.3f}")


if __name__ == "__main__":
    main()
