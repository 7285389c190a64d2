"""The main job: check the reference networks, the article's and some flawed ones; print a table."""

from __future__ import annotations

import time

from autograder import check_function

from . import reference as R
from .article import ARTICLE
from .flawed import FLAWED

REFERENCES = [
    (R.lt10_sigmoid, "lt10_sigmoid"), (R.lt10_relu, "lt10_relu"), (R.min_network, "min_network"),
    (R.min_network_sequential, "min_network"), (R.min_network_everywhere, "min_network"),
    (R.is_even_16, "is_even_16"), (R.is_even_16_residual, "is_even_16"),
    (R.is_even_16_zigzag, "is_even_16"), (R.is_even_network, "is_even_network"),
    (R.is_even_network_sequential, "is_even_network"),
]


def main() -> None:
    rows = [("reference", fn, rid) for fn, rid in REFERENCES]
    rows += [("article", fn, rid) for fn, rid, *_ in ARTICLE]
    rows += [("flawed", fn, rid) for fn, rid, *_ in FLAWED]
    print(f"{'kind':<10}{'network':<28}{'riddle':<16}{'status':<8}{'score':>7}{'neurons':>9}{'min':>5}{'budget':>7}  message")
    start = time.perf_counter()
    for kind, fn, rid in rows:
        r = check_function(fn, rid)
        v = r.main
        lb, bud = (v.riddle.lower_bound, v.riddle.budget) if v else ("-", "-")
        neurons = "-" if r.neurons is None else r.neurons
        msg = r.message if len(r.message) < 70 else r.message[:67] + "..."
        print(f"{kind:<10}{fn.__name__:<28}{rid:<16}{r.status:<8}{r.score:>4g}/{r.max_score:<2g}{neurons:>9}{lb:>5}{bud:>7}  {msg}")
    print(f"\n{len(rows)} networks checked in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
