"""The riddles as data.

A riddle is one small frozen spec object: what the student writes, the function it must
compute, where it is graded, how outputs are compared, which activation it may use, the
proven lower bound on its neuron count (with the reason, see docs/theory.md), the
architecture it must have, if any, and the points it is worth.  Every front end reads these
objects; nothing else hard-codes a riddle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Literal

import numpy as np

from .regions import MIN_PIECES, TargetPiece

Method = Literal["enumeration", "line"]
# "sequential": a plain stack of layers, each reading only the previous layer's output (no
# skip connections); decided on the captured description by autograder/sequential.py.
Architecture = Literal["sequential"]


@dataclass(frozen=True)
class Domain:
    """A box of integer points.  `method` says whether every point can be run ("enumeration":
    the forward-pass sweep runs on all of them, and exact enumeration is the fallback when an
    analysis gives up) or not ("line": only the exact line analysis can decide it)."""

    name: str
    lo: int
    hi: int  # inclusive
    arity: int = 1
    method: Method = "enumeration"

    @property
    def size(self) -> int:
        return (self.hi - self.lo + 1) ** self.arity

    def describe(self) -> str:
        span = f"{fmt_int(self.lo)}..{fmt_int(self.hi)}"
        if self.arity == 1:
            return f"integers {span}"
        return f"integer pairs in [{fmt_int(self.lo)}, {fmt_int(self.hi)}]²"

    def __repr__(self) -> str:
        return f"Domain({self.name!r}: {self.describe()}, {self.method})"


def fmt_int(v: int) -> str:
    """Write large powers of two readably: 2**64-1 rather than twenty digits."""
    for k in range(17, 129):
        if v == 2**k - 1:
            return f"2^{k}-1"
        if v == 2**k:
            return f"2^{k}"
        if v == -(2**k):
            return f"-2^{k}"
    return str(v)


@dataclass(frozen=True)
class Points:
    """Points for a riddle: `exact` for a right network, `efficiency` for a small one."""

    exact: float
    efficiency: float

    @property
    def total(self) -> float:
        return self.exact + self.efficiency


@dataclass(frozen=True)
class Riddle:
    """One riddle.  `n` is the size parameter for riddles whose function takes one."""

    id: str
    title: str
    arity: int
    target: Callable[..., int]
    target_text: str
    domains: tuple[Domain, ...]
    rule: Literal["exact", "tolerance"]
    activation: Literal["relu", "sigmoid"]
    lower_bound: int
    bound_reason: str
    budget: int
    points: Points
    tolerance: Fraction | None = None
    n: int | None = None
    signature: str = field(default="")
    # The target on a run of integers lo..hi, for the exact line analysis of one-input
    # riddles: pieces (lo, hi, mu, eps) on which the target is (mu + eps·x) mod 2.
    runs: Callable[[int, int], list[tuple[int, int, int, int]]] | None = None
    # The target of a two-input riddle as affine pieces, for the exact region analysis.
    pieces: tuple[TargetPiece, ...] | None = None
    # None: any graph of affine maps and units (skips allowed); otherwise the shape it must have.
    architecture: Architecture | None = None

    def __repr__(self) -> str:
        tail = f", n={self.n}" if self.n is not None else ""
        tail += f", {self.architecture}" if self.architecture else ""
        return (f"Riddle({self.id!r}{tail}: {self.target_text}, {self.rule}, "
                f"{self.activation}, bound {self.lower_bound}, budget {self.budget})")


# Targets work on Python ints and on numpy integer arrays alike.
def _lt10(x: Any) -> Any:
    return (x < 10) * 1


def _min(a: Any, b: Any) -> Any:
    return np.minimum(a, b)


def _parity(x: Any) -> Any:
    return x % 2


def _lt10_runs(lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    return [r for r in ((lo, min(hi, 9), 1, 0), (max(lo, 10), hi, 0, 0)) if r[0] <= r[1]]


def _parity_runs(lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    return [(lo, hi, 0, 1)]


LT10_PUBLIC = Domain("public", -20, 39)

LT10_SIGMOID = Riddle(
    id="lt10_sigmoid", title="x < 10 with one sigmoid", arity=1, target=_lt10,
    target_text="1 if x < 10 else 0", domains=(LT10_PUBLIC,), rule="tolerance",
    tolerance=Fraction(1, 100), activation="sigmoid", lower_bound=1,
    bound_reason="the output must be nonlinear in x, so at least the one sigmoid unit",
    budget=1, points=Points(2, 0), signature="lt10_sigmoid()", runs=_lt10_runs)

LT10_RELU = Riddle(
    id="lt10_relu", title="x < 10 exactly, with ReLU", arity=1, target=_lt10,
    target_text="exactly 1 if x < 10 else 0",
    domains=(LT10_PUBLIC, Domain("extended", -10**6, 10**6)), rule="exact",
    activation="relu", lower_bound=2,
    bound_reason="with one ReLU unit the output is affine on each side of its kink, "
                 "and a step that is constant on both sides forces it to be constant",
    budget=2, points=Points(2, 1), signature="lt10_relu()", runs=_lt10_runs)

MIN_NETWORK = Riddle(
    id="min_network", title="min(a, b) exactly, with ReLU", arity=2, target=_min,
    target_text="exactly min(a, b)",
    domains=(Domain("public", -50, 49, arity=2), Domain("extended", -1024, 1023, arity=2)),
    rule="exact", activation="relu", lower_bound=1,
    bound_reason="min is not affine, so at least one ReLU unit is needed",
    budget=2, points=Points(2, 1), signature="min_network()", pieces=MIN_PIECES)

IS_EVEN_16 = Riddle(
    id="is_even_16", title="x mod 2 on 0..15, with ReLU", arity=1, target=_parity,
    target_text="exactly x mod 2 (1 for odd x)", domains=(Domain("public", 0, 15),),
    rule="exact", activation="relu", lower_bound=4,
    bound_reason="parity on 16 consecutive integers needs 15 linear pieces, and N ReLU "
                 "units give at most 2^N pieces",
    budget=8, points=Points(2, 2), signature="is_even_16()", runs=_parity_runs)

IS_EVEN_16_SEQUENTIAL = Riddle(
    id="is_even_16_sequential", title="x mod 2 on 0..15, plain nn.Sequential with ReLU", arity=1,
    target=_parity, target_text="exactly x mod 2 (1 for odd x)", domains=(Domain("public", 0, 15),),
    rule="exact", activation="relu", lower_bound=6,
    bound_reason="without skips, the 15 linear pieces parity needs on 0..15 are at most the product "
                 "of (width + 1) over the layers of width 2 or more, and no widths summing to 5 "
                 "reach 15 (docs/theory.md §4, the product bound)",
    budget=7, points=Points(2, 2), signature="is_even_16_sequential()", runs=_parity_runs,
    architecture="sequential")

IS_EVEN_NS: tuple[int, ...] = tuple(range(1, 21)) + (32, 64)


def is_even_bound(n: int) -> int:
    """Proven lower bound for parity on [0, 2^n), any architecture (docs/theory.md §4)."""
    return 0 if n == 1 else n


def is_even_instance(n: int, points: Points | None = None) -> Riddle:
    """The `is_even_network(n)` riddle at one graded size n."""
    method: Method = "enumeration" if n <= 20 else "line"
    return Riddle(
        id="is_even_network", title=f"x mod 2 on [0, 2^{n}), with ReLU", arity=1,
        target=_parity, target_text="exactly x mod 2 (1 for odd x)",
        domains=(Domain(f"n={n}", 0, 2**n - 1, method=method),), rule="exact",
        activation="relu", lower_bound=is_even_bound(n),
        bound_reason=("parity on 2^n consecutive integers needs 2^n - 1 linear pieces, "
                      "and N ReLU units give at most 2^N pieces, so N >= n"
                      if n > 1 else "x itself is x mod 2 on {0, 1}: no unit is needed"),
        budget=2 * n, points=points or IS_EVEN_NETWORK.points, n=n,
        signature=f"is_even_network({n})", runs=_parity_runs)


IS_EVEN_NETWORK = Riddle(
    id="is_even_network", title="x mod 2 on [0, 2^n) for every n, with ReLU", arity=1,
    target=_parity, target_text="exactly x mod 2 (1 for odd x)", domains=(),
    rule="exact", activation="relu", lower_bound=2,
    bound_reason="n units for 2^n integers (n >= 2), see docs/theory.md",
    budget=4, points=Points(3, 2), signature="is_even_network(n_bits)", runs=_parity_runs)

RIDDLES: dict[str, Riddle] = {
    r.id: r for r in (LT10_SIGMOID, LT10_RELU, MIN_NETWORK, IS_EVEN_16, IS_EVEN_16_SEQUENTIAL,
                      IS_EVEN_NETWORK)
}


def instances(riddle: Riddle) -> list[Riddle]:
    """The concrete graded instances of a riddle (one per n for `is_even_network`)."""
    if riddle.id == "is_even_network":
        return [is_even_instance(n, riddle.points) for n in IS_EVEN_NS]
    return [riddle]
