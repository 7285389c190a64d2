"""The riddles as data.

A riddle is one small frozen spec object: what the student writes, the function it must
compute, where it is graded, how outputs are compared, which activation it may use, the
proven lower bound on its neuron count (with the reason, see docs/theory.md), the
architecture it must have, if any, the points it is worth, what the exact analyses and the
figures need, and the hint shown on failure.  Every front end reads these objects; nothing
else hard-codes a riddle.

`RIDDLES` holds the package's riddles and, once `course_riddles.use_course` has loaded an
instructor's `riddles.py`, the course's own (docs/authoring.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from .regions import MIN_PIECES, TargetPiece

Method = Literal["enumeration", "line"]
# "sequential": a plain stack of layers, each reading only the previous layer's output (no
# skip connections); decided on the captured description by autograder/core/sequential.py.
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
class Size:
    """What changes with the size n of a riddle whose function takes one (`Riddle.sizes`)."""

    domains: tuple[Domain, ...]
    lower_bound: int
    bound_reason: str
    budget: int
    title: str = ""


Run = tuple[int, ...]
"""A run of integers for the line analysis: (lo, hi, mu, eps) or (lo, hi, mu, eps, modulus),
on which the target is (mu + eps·x) mod modulus, or the constant mu when eps = 0 (line.py)."""


@dataclass(frozen=True)
class Riddle:
    """One riddle.  A riddle with `sizes` is graded once per size n (its function takes n;
    `at_size(n)` gives what depends on n); `instances()` turns it into one riddle per size,
    with `n` set."""

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
    # riddles (see `Run`).  Without it, one-input domains are enumerated.
    runs: Callable[[int, int], list[Run]] | None = None
    # The target of a two-input riddle as affine pieces, for the exact region analysis.
    pieces: tuple[TargetPiece, ...] | None = None
    # None: any graph of affine maps and units (skips allowed); otherwise the shape it must have.
    architecture: Architecture | None = None
    formula: str = ""  # the target in a few symbols, for figure labels ("min(a, b)")
    inputs: tuple[str, ...] = ()  # the names of the inputs, for figures and tables
    hint: str = ""  # said after the counterexamples when a network is not right
    sizes: tuple[int, ...] = ()  # the graded sizes n, for a riddle whose function takes n
    at_size: Callable[[int], Size] | None = None
    bound_text: str = ""  # the proven minimum in the rules table, for a riddle with sizes ("n")
    budget_text: str = ""  # its budget there ("2n")
    # The heading (its text, without the #s) of the section of docs/theory.md that proves
    # `lower_bound` and names the riddle's id in backticks (tests/test_registry.py checks both).
    theory: str = ""

    @property
    def input_names(self) -> tuple[str, ...]:
        if self.inputs:
            return self.inputs
        if self.arity <= 2:
            return ("x",) if self.arity == 1 else ("a", "b")
        return tuple(f"x{i}" for i in range(1, self.arity + 1))

    @property
    def target_label(self) -> str:
        return self.formula or self.target_text.removeprefix("exactly ")

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
    budget=1, points=Points(2, 0), signature="lt10_sigmoid()", runs=_lt10_runs, formula="[x < 10]",
    hint="Every output must be within 0.01 of the target; the threshold must sit strictly between "
         "9 and 10 and the slope must be steep.",
    theory="2. `x < 10` on the integers")

LT10_RELU = Riddle(
    id="lt10_relu", title="x < 10 exactly, with ReLU", arity=1, target=_lt10,
    target_text="exactly 1 if x < 10 else 0",
    domains=(LT10_PUBLIC, Domain("extended", -10**6, 10**6)), rule="exact",
    activation="relu", lower_bound=2,
    bound_reason="with one ReLU unit the output is affine on each side of its kink, "
                 "and a step that is constant on both sides forces it to be constant",
    budget=2, points=Points(2, 1), signature="lt10_relu()", runs=_lt10_runs, formula="[x < 10]",
    theory="2. `x < 10` on the integers")

MIN_NETWORK = Riddle(
    id="min_network", title="min(a, b) exactly, with ReLU", arity=2, target=_min,
    target_text="exactly min(a, b)",
    domains=(Domain("public", -50, 49, arity=2), Domain("extended", -1024, 1023, arity=2)),
    rule="exact", activation="relu", lower_bound=1,
    bound_reason="min is not affine, so at least one ReLU unit is needed",
    budget=2, points=Points(2, 1), signature="min_network()", pieces=MIN_PIECES, formula="min(a, b)",
    theory="3. `min(a, b)` on integer grids")

IS_EVEN_16 = Riddle(
    id="is_even_16", title="x mod 2 on 0..15, with ReLU", arity=1, target=_parity,
    target_text="exactly x mod 2 (1 for odd x)", domains=(Domain("public", 0, 15),),
    rule="exact", activation="relu", lower_bound=4,
    bound_reason="parity on 16 consecutive integers needs 15 linear pieces, and N ReLU "
                 "units give at most 2^N pieces",
    budget=8, points=Points(2, 2), signature="is_even_16()", runs=_parity_runs, formula="x mod 2",
    theory="4. Parity on 2ⁿ consecutive integers")

IS_EVEN_16_SEQUENTIAL = Riddle(
    id="is_even_16_sequential", title="x mod 2 on 0..15, plain nn.Sequential with ReLU", arity=1,
    target=_parity, target_text="exactly x mod 2 (1 for odd x)", domains=(Domain("public", 0, 15),),
    rule="exact", activation="relu", lower_bound=6,
    bound_reason="without skips, the 15 linear pieces parity needs on 0..15 are at most the product "
                 "of (width + 1) over the layers of width 2 or more, and no widths summing to 5 "
                 "reach 15 (docs/theory.md §4, the product bound)",
    budget=7, points=Points(2, 2), signature="is_even_16_sequential()", runs=_parity_runs,
    architecture="sequential", formula="x mod 2", theory="The riddle `is_even_16_sequential`")

IS_EVEN_NS: tuple[int, ...] = tuple(range(1, 21)) + (32, 64)


def is_even_bound(n: int) -> int:
    """Proven lower bound for parity on [0, 2^n), any architecture (docs/theory.md §4)."""
    return 0 if n == 1 else n


def _is_even_size(n: int) -> Size:
    """`is_even_network(n)` at one graded size: enumerated up to n = 20, analysed beyond."""
    method: Method = "enumeration" if n <= 20 else "line"
    return Size(domains=(Domain(f"n={n}", 0, 2**n - 1, method=method),), lower_bound=is_even_bound(n),
                bound_reason=("parity on 2^n consecutive integers needs 2^n - 1 linear pieces, "
                              "and N ReLU units give at most 2^N pieces, so N >= n"
                              if n > 1 else "x itself is x mod 2 on {0, 1}: no unit is needed"),
                budget=2 * n, title=f"x mod 2 on [0, 2^{n}), with ReLU")


IS_EVEN_NETWORK = Riddle(
    id="is_even_network", title="x mod 2 on [0, 2^n) for every n, with ReLU", arity=1,
    target=_parity, target_text="exactly x mod 2 (1 for odd x)", domains=(),
    rule="exact", activation="relu", lower_bound=2,
    bound_reason="n units for 2^n integers (n >= 2), see docs/theory.md",
    budget=4, points=Points(3, 2), signature="is_even_network(n_bits)", runs=_parity_runs,
    formula="x mod 2", sizes=IS_EVEN_NS, at_size=_is_even_size, bound_text="n (0 for n = 1)",
    budget_text="2n (n = number of bits)", theory="4. Parity on 2ⁿ consecutive integers")

RIDDLES: dict[str, Riddle] = {
    r.id: r for r in (LT10_SIGMOID, LT10_RELU, MIN_NETWORK, IS_EVEN_16, IS_EVEN_16_SEQUENTIAL,
                      IS_EVEN_NETWORK)
}


def at_size(riddle: Riddle, n: int) -> Riddle:
    """One graded instance of a riddle with sizes: the riddle with n and what depends on it."""
    if riddle.at_size is None:
        raise ValueError(f"{riddle.id} has no sizes")
    size = riddle.at_size(n)
    return replace(riddle, title=size.title or riddle.title, domains=size.domains,
                   lower_bound=size.lower_bound, bound_reason=size.bound_reason, budget=size.budget,
                   n=n, signature=f"{riddle.id}({n})", sizes=())


def instances(riddle: Riddle) -> list[Riddle]:
    """The concrete graded instances of a riddle: one per size, or the riddle itself."""
    if riddle.sizes:
        return [at_size(riddle, n) for n in riddle.sizes]
    return [riddle]
