"""How long does checking a correct submission take, once torch is imported?

Prints figures; asserts nothing about time (machines are shared and noisy)."""

from __future__ import annotations

import statistics
import time

import torch  # noqa: F401 - imported before timing, as the issue asks

from autograder import check_function
from solutions import reference as R

FIVE = [(R.lt10_sigmoid, "lt10_sigmoid"), (R.lt10_relu, "lt10_relu"), (R.min_network, "min_network"),
        (R.is_even_16, "is_even_16"), (R.is_even_network, "is_even_network")]


def once() -> dict[str, float]:
    times = {}
    for fn, rid in FIVE:
        t = time.perf_counter()
        r = check_function(fn, rid)
        times[rid] = time.perf_counter() - t
        assert r.status == "pass", r.message
    return times


def main() -> None:
    once()  # warm-up: first use of torch.fx and numpy paths
    runs = [once() for _ in range(5)]
    totals = [sum(r.values()) for r in runs]
    print("per riddle (median of 5, seconds):")
    for rid in runs[0]:
        print(f"  {rid:<16} {statistics.median(r[rid] for r in runs):.3f}")
    print(f"all five riddles, is_even_network up to n = 64: median {statistics.median(totals):.3f} s, "
          f"min {min(totals):.3f} s, max {max(totals):.3f} s")
    t = time.perf_counter()
    check_function(R.is_even_network_sequential, "is_even_network")
    print(f"is_even_network as plain Sequential (2n units): {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
