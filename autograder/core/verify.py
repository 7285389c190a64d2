"""Verdicts: is a captured network exactly right on a riddle's graded domains?

Pure functions of plain data: a riddle instance, a `Network`, and optionally the
candidate's own float outputs on sample points.  No torch, no student code.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np

from .evaluate import SAFE, exact_output, exact_values, float_forward
from .line import LineCapExceeded, verify_line
from .network import Network
from .normal import UnitNet, normal_form, settle
from .regions import RegionCapExceeded, verify_regions
from .riddles import Domain, Riddle
from .rounding import BITS, at_points, chunk_rows, error_on_box, first_unsafe, same_in_every_order
from .sequential import find_skip
from .sweep_points import breakpoints, enumerated, sampled_points

CHUNK = 1 << 20
SHOW = 5


@dataclass
class Counterexample:
    """An input where the network is wrong.  `exact` is the exact output where it is known
    (the function the weights define); `got` is a float for JSON readers."""

    input: list[int]
    expected: float
    got: float | None
    exact: Fraction | None = None

    def got_text(self) -> str:
        return "?" if self.got is None else exact_text(self.exact if self.exact is not None else self.got)

    def text(self) -> str:
        x = ", ".join(str(v) for v in self.input)
        return f"f({x}) = {self.got_text()}, expected {exact_text(self.expected)}"


def exact_text(v: Fraction | float | int) -> str:
    """A number written so that it never reads as a value it is not: integers as integers,
    binary floats by their shortest round-trip digits, and anything whose nearest float
    would look like an integer as that integer plus the exact offset ("1 - 2.5e-25")."""
    if isinstance(v, float) and not np.isfinite(v):
        return repr(v)
    fr = Fraction(v)
    if fr.denominator == 1:
        return str(fr.numerator)
    try:
        f = float(fr)
    except OverflowError:
        return f"{fr.numerator}/{fr.denominator}"
    if Fraction(f) == fr or not f.is_integer():
        return repr(f)
    k = round(fr)
    d = fr - k
    return f"{k} {'+' if d > 0 else '-'} {safe_float(abs(d))!r}"


@dataclass
class Verdict:
    """The verdict on one network for one riddle instance."""

    riddle: Riddle
    exact: bool
    neurons: int
    counterexamples: list[Counterexample] = field(default_factory=list)
    wrong: int = 0  # wrong points found (enumeration), or 0
    checked: list[str] = field(default_factory=list)  # domain descriptions verified
    largest_error: float | None = None
    float_agrees: bool | None = None
    notes: list[str] = field(default_factory=list)
    refused: str = ""  # non-empty when the network breaks the riddle's rules
    public_values: list[float] | None = None  # the network's values on the public domain (figures)
    partial_count: bool = False  # `wrong` counts only the first part of a huge domain
    run_fails: bool = False  # the network's own forward pass got some swept input wrong
    methods: set[str] = field(default_factory=set)  # how it was decided: "line", "enumeration", "regions"
    upside_down: bool = False  # a 0/1 target, and the network gives 1 − target on every public input

    def __repr__(self) -> str:
        state = "refused" if self.refused else "exact" if self.exact else "not exact"
        size = "" if self.riddle.n is None else f" n={self.riddle.n}"
        return f"Verdict({self.riddle.id}{size}: {state}, {self.neurons} neurons)"


def refuse(riddle: Riddle, reason: str, neurons: int = 0) -> Verdict:
    return Verdict(riddle, exact=False, neurons=neurons, refused=reason)


def public_samples(riddle: Riddle, seed: int = 0) -> list[list[int]]:
    """Points where the candidate's own forward pass is compared: the public domain
    (or a prefix of it for large n) and a few seeded random points."""
    d = riddle.domains[0]
    if d.arity == 2:
        g = np.arange(d.lo, d.hi + 1)
        a, b = np.meshgrid(g, g, indexing="ij")
        return np.stack([a.ravel(), b.ravel()], axis=1).tolist()
    if d.size <= 256:
        return [[x] for x in range(d.lo, d.hi + 1)]
    rng = random.Random(seed)  # Python's: a jailed child has no numpy.random to import
    top = min(d.hi, 2**24)
    extra = [rng.randint(d.lo, top) for _ in range(64)]
    return [[x] for x in range(d.lo, d.lo + 192)] + [[int(x)] for x in extra]


ENUMERATION_WORK = 10**9  # points × numbers per point: beyond it a network is too large to enumerate


def per_point(net: Network) -> int:
    """Numbers computed per input point: every op's values, and every weight of a linear op."""
    return sum(op.size + (op.weight.size if op.weight is not None else 0) for op in net.ops)


def _points(d: Domain, numbers: int = 1) -> Iterator[np.ndarray]:
    """The points of `d` in batches of at most CHUNK points or about 2^23 numbers computed."""
    chunk = max(1024, min(CHUNK, (1 << 23) // max(1, numbers)))
    if d.arity == 1:
        for start in range(d.lo, d.hi + 1, chunk):
            yield np.arange(start, min(start + chunk, d.hi + 1), dtype=np.int64)[:, None]
        return
    side = d.hi - d.lo + 1
    rows = max(1, chunk // side)
    g = np.arange(d.lo, d.hi + 1, dtype=np.int64)
    for a0 in range(d.lo, d.hi + 1, rows):
        a = np.arange(a0, min(a0 + rows, d.hi + 1), dtype=np.int64)
        aa, bb = np.meshgrid(a, g, indexing="ij")
        yield np.stack([aa.ravel(), bb.ravel()], axis=1)


def _target(riddle: Riddle, pts: np.ndarray) -> np.ndarray:
    return np.asarray(riddle.target(*[pts[:, i] for i in range(riddle.arity)]), dtype=np.int64)


def safe_float(v: Fraction | int) -> float:
    """The nearest float, or ±inf when the exact value is beyond float range."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _enumerate(riddle: Riddle, net: Network, d: Domain, v: Verdict) -> None:
    """Exact outputs on every point, compared with the target (exact integers throughout)."""
    worst = Fraction(0)
    numbers = per_point(net)
    if d.size * numbers > ENUMERATION_WORK:  # a forged description can be huge; the grader's time is shared
        v.refused = (f"could not verify {d.describe()} exactly: the exact analysis gave up and the network "
                     f"computes {numbers:,} numbers per input, too many to enumerate; it is not counted as "
                     "exact (fail closed)")
        return
    for pts in _points(d, numbers):
        out = exact_output(net, pts)
        want = _target(riddle, pts)
        big = out.num.dtype == object or out.den >= SAFE // max(1, int(np.abs(want).max(initial=0)))
        diff = (out.num.astype(object) - want.astype(object) * out.den) if big else out.num - want * out.den
        bad = np.nonzero(diff != 0)[0]
        if len(bad):
            v.wrong += len(bad)
            worst = max(worst, Fraction(max(abs(int(diff[i])) for i in bad), out.den))
            for i in bad[: SHOW - len(v.counterexamples)]:
                got = Fraction(int(out.num[i]), out.den)
                v.counterexamples.append(Counterexample([int(c) for c in pts[i]], float(want[i]), safe_float(got), got))
            if d.size > CHUNK:  # enough evidence; the rest of a huge domain would only cost time
                v.partial_count = True
                break
    v.largest_error = max(v.largest_error or 0.0, safe_float(worst))


def exact_at(net: Network, point: list[int]) -> Fraction:
    """The exact output of the network at one integer point."""
    big = any(abs(c) >= 2**62 for c in point)
    return exact_output(net, np.asarray([point], dtype=object if big else np.int64)).fractions()[0]


def _line(riddle: Riddle, net: Network, unet: UnitNet, d: Domain, v: Verdict) -> bool:
    """Decide a one-input domain by the exact line analysis; enumerate when it gives up on an
    enumerable domain; fail closed, saying why, on a domain too large to enumerate."""
    assert riddle.runs is not None
    try:
        failures, _ = verify_line(settle(unet, d.lo, d.hi), riddle.runs(d.lo, d.hi))
    except LineCapExceeded as e:
        if d.method == "enumeration":
            before = v.wrong
            _enumerate(riddle, net, d, v)
            v.methods.add("enumeration")
            return v.wrong == before
        v.refused = f"could not verify {d.describe()} exactly: {e}; it is not counted as exact (fail closed)"
        return False
    v.methods.add("line")
    for f in failures:
        if f.reason != "wrong output" and f.reason not in v.notes:
            v.notes.append(f.reason)
        v.wrong += 1
        v.partial_count = True
        if f.input is None:
            continue
        got = exact_at(net, [f.input])  # never show an input where the network is right
        want = int(riddle.target(f.input))
        if got != want:
            v.counterexamples.append(Counterexample([f.input], float(want), safe_float(got), got))
    if failures and not v.counterexamples:
        v.notes.append("the exact analysis proved the network wrong on this domain but could not "
                       "name a single input")
    return not failures


def _regions(riddle: Riddle, net: Network, unet: UnitNet, d: Domain, v: Verdict) -> bool:
    """Decide a two-input grid region by region (exact counts); enumerate past the cap."""
    assert riddle.pieces is not None
    try:
        res = verify_regions(unet, d.lo, d.hi, riddle.pieces)
    except RegionCapExceeded:
        before = v.wrong
        _enumerate(riddle, net, d, v)
        v.methods.add("enumeration")
        return v.wrong == before
    v.methods.add("regions")
    v.wrong += res.wrong
    for c in res.counterexamples[: SHOW - len(v.counterexamples)]:
        v.counterexamples.append(Counterexample([c.a, c.b], safe_float(c.expected), safe_float(c.got), c.got))
    if res.wrong:
        worst = max(abs(c.got - c.expected) for c in res.counterexamples)
        v.largest_error = max(v.largest_error or 0.0, safe_float(worst))
    return res.exact


def _logit_bound(p: Fraction) -> tuple[Fraction, Fraction]:
    """An interval of width < 1e-40 around logit(p) = ln(p / (1 - p))."""
    with localcontext() as ctx:
        ctx.prec = 60
        val = (Decimal(p.numerator) / Decimal(p.denominator - p.numerator)).ln()
    mid = Fraction(val)
    return mid - Fraction(1, 10**45), mid + Fraction(1, 10**45)


def _tolerance(riddle: Riddle, net: Network, v: Verdict) -> bool:
    """|y - target| <= eps with y = alpha·sigmoid(z) + beta, decided exactly on z."""
    sig = [k for k, op in enumerate(net.ops) if op.op == "sigmoid"]
    if len(sig) != 1 or net.ops[sig[0]].size != 1:
        v.refused = "this riddle takes exactly one sigmoid unit"
        return False
    eps = riddle.tolerance or Fraction(0)
    d = riddle.domains[0]
    pts = np.arange(d.lo, d.hi + 1, dtype=np.int64)[:, None]
    z_op = net.ops[sig[0]].args[0]
    y0 = exact_values(net, pts, keep=(z_op,), sigmoid=Fraction(0))
    y1 = exact_output_with(net, pts, Fraction(1))
    z = y0[z_op].fractions()
    beta = y0[net.output].fractions()
    want = _target(riddle, pts)
    worst = 0.0
    ys: list[float] = []
    for i, x in enumerate(pts[:, 0]):
        t, a, b = int(want[i]), y1[i] - beta[i], beta[i]
        ok = True
        if a == 0:
            ok = abs(b - t) <= eps
        else:
            lo, hi = (t - eps - b) / a, (t + eps - b) / a
            lo, hi = min(lo, hi), max(lo, hi)
            if hi <= 0 or lo >= 1:
                ok = False
            if ok and lo > 0:
                l_lo, l_hi = _logit_bound(lo)
                ok = z[i] >= l_hi if not (l_lo <= z[i] <= l_hi) else False
            if ok and hi < 1:
                h_lo, h_hi = _logit_bound(hi)
                ok = z[i] <= h_lo if not (h_lo <= z[i] <= h_hi) else False
        y = safe_float(a) * _sigmoid(safe_float(z[i])) + safe_float(b) if a != 0 else safe_float(b)
        ys.append(y)
        worst = max(worst, abs(y - t))
        if not ok:
            v.wrong += 1
            if len(v.counterexamples) < SHOW:
                v.counterexamples.append(Counterexample([int(x)], float(t), y))
    v.largest_error = worst
    v.public_values = ys
    return v.wrong == 0


def _sigmoid(z: float) -> float:
    return 1 / (1 + np.exp(-z)) if z >= 0 else float(np.exp(z) / (1 + np.exp(z)))


def exact_output_with(net: Network, pts: np.ndarray, s: Fraction) -> list[Fraction]:
    out = exact_values(net, pts, sigmoid=s)[net.output]
    return out.fractions()


def _reproduces(net: Network, samples: list[list[int]], theirs: list[float]) -> str:
    ours, tol = float_forward(net, np.asarray(samples, dtype=np.float64))
    theirs_a = np.asarray(theirs, dtype=np.float64)
    if theirs_a.shape != ours.shape:
        return "the network's outputs have the wrong shape"
    same_nan = np.isnan(ours) & np.isnan(theirs_a)
    bad = ~same_nan & ~(np.abs(ours - theirs_a) <= tol)
    if bad.any():
        i = int(np.nonzero(bad)[0][0])
        return (f"the captured operations do not reproduce the network's own output at "
                f"x = {samples[i]}: {float(theirs_a[i])!r} against {float(ours[i])!r}; the network may use "
                "an operation the grader cannot see (a custom autograd function, a hook)")
    return ""


def _read_sweep(riddle: Riddle, sweep: Any) -> list[dict[str, Any]] | str:
    """Validate the (untrusted) forward-pass sweep: one entry per domain, in order."""
    if not isinstance(sweep, list) or len(sweep) != len(riddle.domains):
        return "the network's own forward pass over the graded inputs was not reported"
    out = []
    for d, e in zip(riddle.domains, sweep):
        ok = (isinstance(e, dict) and e.get("domain") == d.name
              and all(isinstance(e.get(k), int) and not isinstance(e.get(k), bool) and e[k] >= 0
                      for k in ("points", "wrong"))
              and isinstance(e.get("examples"), list) and isinstance(e.get("note", ""), str))
        ok = ok and _examples_ok(riddle, e["examples"])
        other = e.get("other_dtype")
        if other is not None:
            ok = ok and (isinstance(other, dict) and other.get("dtype") in ("float32", "float64")
                         and isinstance(other.get("wrong"), int) and not isinstance(other["wrong"], bool)
                         and other["wrong"] >= 0 and _examples_ok(riddle, other.get("examples")))
        if not ok:
            return "the network's own forward pass over the graded inputs sent back malformed data"
        if d.method == "enumeration" and e["points"] != d.size:
            return (f"the network's own forward pass covered {e['points']:,} of the "
                    f"{d.size:,} inputs of {d.describe()}")
        out.append(e)
    return out


def _examples_ok(riddle: Riddle, examples: Any) -> bool:
    """Counterexamples as the sweep reports them: [[input, ...], output]."""
    return isinstance(examples, list) and all(
        isinstance(ex, list) and len(ex) == 2 and isinstance(ex[0], list) and len(ex[0]) == riddle.arity
        and all(isinstance(c, int) and not isinstance(c, bool) for c in ex[0])
        and isinstance(ex[1], (int, float)) and not isinstance(ex[1], bool) for ex in examples[:SHOW])


def _with_public_run(riddle: Riddle, sweep: list[dict[str, Any]], samples: list[list[int]],
                     outputs: list[float]) -> list[dict[str, Any]]:
    """The outputs reported on the public samples are a run of the network too: inputs they
    misclassify count as wrong runs (of the first domain) even if the sweep saw none."""
    want = _target(riddle, np.asarray(samples, dtype=np.int64)).astype(np.float64)
    err = np.abs(np.asarray(outputs, dtype=np.float64) - want)
    eps = float(riddle.tolerance or 0)
    bad = np.flatnonzero(~(err <= eps) if riddle.rule == "tolerance" else ~(err < 0.5))
    if not len(bad) or sweep[0]["wrong"]:
        return sweep
    first = dict(sweep[0], wrong=len(bad), examples=[[samples[i], float(outputs[i])] for i in bad[:SHOW]])
    return [first] + sweep[1:]


def _apply_sweep(riddle: Riddle, net: Network, v: Verdict, sweep: list[dict[str, Any]]) -> None:
    """A pass needs the exact proof *and* the network's own forward pass classifying every
    swept input right (docs/theory.md §5); say where inputs could not run."""
    size = f"n = {riddle.n}: " if riddle.n is not None else ""
    for e in sweep:
        if e.get("note"):
            v.notes.append(size + str(e["note"])[:300])
    bad = next(((d, e) for d, e in zip(riddle.domains, sweep) if e["wrong"]), None)
    if bad is None:
        _apply_other_dtype(riddle, net, v, sweep)
        return
    d, e = bad
    v.run_fails = True
    if not v.exact:  # the exact proof already failed it; the run only adds a remark
        v.notes.append(f"its own {net.dtype} forward pass is wrong on {e['wrong']:,} input(s) of "
                       f"{d.describe()} as well")
        return
    v.exact = False
    v.wrong, v.partial_count = e["wrong"], False
    v.checked = v.checked[: riddle.domains.index(d)] + [d.describe()]
    v.counterexamples = [Counterexample(list(inp), float(int(np.asarray(riddle.target(*inp)))), float(got))
                         for inp, got in e["examples"][:SHOW]]
    v.notes.append(f"the function its weights define is right, but the network's own {net.dtype} "
                   "forward pass gets these inputs wrong when it runs (float rounding, a cast, or "
                   "a trick that only works while traced); a pass needs both")


def _same_answer_in_every_order(riddle: Riddle, net: Network, v: Verdict) -> None:
    """(c) of the rule (docs/theory.md §5): no order of adding in the float pass (a batch, a single
    input, other threads, another matrix library) may change an answer.  Proven for a whole
    domain when nothing can round in an order-dependent way, else bounded at every swept input."""
    for d in riddle.domains[:1] if riddle.rule == "tolerance" else riddle.domains:
        if d.method != "enumeration" and riddle.rule == "exact" and not _right_where_unswept(net, d, v):
            return
        if same_in_every_order(net, d.lo, d.hi):
            continue
        if riddle.rule == "tolerance":
            pts = np.arange(d.lo, d.hi + 1, dtype=np.float64)[:, None]
            out = at_points(net, pts)
            mid, half = ((out.lo + out.hi) / 2).ravel(), ((out.hi - out.lo) / 2).ravel()
            want = _target(riddle, pts.astype(np.int64)).astype(np.float64)
            bad = np.flatnonzero(~(out.err.ravel() + np.abs(mid - want) + half <= float(riddle.tolerance or 0)))
            found = ([int(pts[bad[0], 0])], float(out.err.ravel()[bad[0]])) if bad.size else None
        elif d.method == "enumeration" and d.size * per_point(net) > ENUMERATION_WORK // 8:
            v.exact = False
            v.refused = (f"could not prove that no order of adding in its float pass changes an answer on "
                         f"{d.describe()}: it computes {per_point(net):,} numbers per input, too many to "
                         "bound input by input; it is not counted as exact (fail closed)")
            return
        else:
            found = first_unsafe(net, _swept_chunks(riddle, net, d), 0.5)
        if found is not None:
            x, err = found
            v.exact = False
            room = "1/2" if riddle.rule == "exact" else "what the tolerance leaves"
            v.refused = (f"its float answer at f({', '.join(map(str, x))}) can change with the order in which "
                         f"its sums are added (by up to {err:.3g}, more than {room}; one input, a batch, other "
                         "threads or another matrix library add in other orders), so it is not counted as "
                         "right; avoid large weights that cancel, and keep the sums exact (dyadic weights, "
                         f"values below 2^{BITS[net.dtype]})")
            return


def _right_where_unswept(net: Network, d: Domain, v: Verdict) -> bool:
    """A domain too large to run: the sweep runs chosen inputs only, so where the float type holds
    every integer the float pass must be proven right on all of them: its rounding error over
    the whole box (ranges.py, rounding.py) below 1/2.  Up to 2^(p−1) the proof is required; on
    (2^(p−1), 2^p) it is tried, and where it cannot be made (the affine ranges are not tight
    enough next to values that large) the chosen inputs stay the check and the verdict says so."""
    half, top = 2 ** (BITS[net.dtype] - 1), 2 ** BITS[net.dtype] - 1
    lo, hi = max(d.lo, -half), min(d.hi, half)
    if lo <= hi:
        err = error_on_box(net, lo, hi)
        if not err < 0.5:
            v.exact = False
            v.refused = (f"the grader runs only chosen inputs of {d.describe()}, and cannot prove from the weights "
                         f"that the {net.dtype} forward pass is right on the others (its rounding error on "
                         f"integers {lo}..{hi} may reach {err:.3g}); avoid large weights that cancel, and keep "
                         f"the sums exact (dyadic weights, values below 2^{BITS[net.dtype]})")
            return False
    for a, b in ((max(d.lo, half + 1), min(d.hi, top)), (max(d.lo, -top), min(d.hi, -half - 1))):
        if a <= b and not error_on_box(net, a, b) < 0.5:
            size = f"n = {v.riddle.n}: " if v.riddle.n is not None else ""
            v.notes.append(f"{size}the {net.dtype} forward pass is proven right on every integer up to 2^"
                           f"{BITS[net.dtype] - 1}; on {a}..{b} the proof could not be made, so there it "
                           "was checked on the chosen inputs")
    return True


def _swept_chunks(riddle: Riddle, net: Network, d: Domain) -> Iterator[np.ndarray]:
    """The inputs of `d` the sweep runs, as (P, arity) float arrays in batches."""
    rows = chunk_rows(net)
    if d.method == "enumeration":
        for cols in enumerated(d, rows):
            yield np.stack([c.astype(np.float64) for c in cols], axis=1)
        return
    pts = sampled_points(d, BITS[net.dtype], breakpoints(net, riddle, d))
    for i in range(0, len(pts), rows):
        yield np.array(pts[i:i + rows], dtype=np.float64)[:, None]


def _apply_other_dtype(riddle: Riddle, net: Network, v: Verdict, sweep: list[dict[str, Any]]) -> None:
    """A network without float weights computes in the float type of its input, which the
    caller chooses: its forward pass must be right in both types that it runs in."""
    bad = next(((d, e["other_dtype"]) for d, e in zip(riddle.domains, sweep)
                if e.get("other_dtype") and e["other_dtype"]["wrong"]), None)
    if bad is None:
        return
    d, e = bad
    said = (f"no weight fixes its float type, so it also runs on {e['dtype']} inputs, and its "
            f"{e['dtype']} forward pass is wrong on {e['wrong']:,} input(s) of {d.describe()}")
    if not v.exact:
        v.notes.append(said)
        return
    v.exact, v.run_fails = False, True
    v.wrong, v.partial_count = e["wrong"], False
    v.checked = v.checked[: riddle.domains.index(d)] + [d.describe()]
    v.counterexamples = [Counterexample(list(inp), float(int(np.asarray(riddle.target(*inp)))), float(got))
                         for inp, got in e["examples"][:SHOW]]
    v.notes.append(f"the function its weights define is right, and so is its {net.dtype} forward pass, but "
                   f"{said}; give it a weight (an nn.Linear) or make it right in both types")


def _upside_down(riddle: Riddle, points: list[list[int]], exact: list[Fraction]) -> bool:
    """True when the target is 0/1 and the exact output is 1 − target on every given point:
    the student swapped the two answers, which deserves its own sentence."""
    want = [int(riddle.target(*p)) for p in points]
    return set(want) == {0, 1} and all(y == 1 - t for y, t in zip(exact, want))


def verify(riddle: Riddle, net: Network, outputs: Any = None, sweep: Any = None) -> Verdict:
    """The verdict on `net` for one riddle instance.  `outputs` (untrusted) are the
    candidate's own float outputs on `public_samples(riddle)`, used to check the capture
    and to inform the student; `sweep` (untrusted) is its own forward pass over the graded
    inputs (fidelity.forward_sweep), required whenever `outputs` are given.  Both None when
    there is no candidate to compare with (a description alone)."""
    neurons = net.neurons()
    samples = public_samples(riddle)
    if net.arity != riddle.arity:
        return refuse(riddle, f"the network takes {net.arity} input(s); this riddle has {riddle.arity}", neurons)
    wrong_act = net.activations() - {riddle.activation}
    if wrong_act:
        return refuse(riddle, f"it uses {', '.join(sorted(wrong_act))} units; this riddle "
                              f"allows {riddle.activation} only", neurons)
    if outputs is not None:
        if not isinstance(outputs, list) or len(outputs) != len(samples) or not all(
                isinstance(y, (int, float)) and not isinstance(y, bool) for y in outputs):
            return refuse(riddle, "the network's own outputs were not reported", neurons)
        problem = _reproduces(net, samples, outputs)
        if problem:
            return refuse(riddle, problem, neurons)
        swept = _read_sweep(riddle, sweep)
        if isinstance(swept, str):
            return refuse(riddle, swept, neurons)
    if riddle.architecture == "sequential":
        skip = find_skip(net)
        if skip is not None:
            return refuse(riddle, str(skip), neurons)
    v = Verdict(riddle, exact=False, neurons=neurons)
    if riddle.rule == "tolerance":
        v.exact = _tolerance(riddle, net, v)
        v.checked.append(riddle.domains[0].describe())
        if v.exact:
            _same_answer_in_every_order(riddle, net, v)
    else:
        ok = True
        analysable = riddle.runs is not None if riddle.arity == 1 else riddle.pieces is not None
        unet = normal_form(net) if analysable else None
        for d in riddle.domains:
            if unet is not None and riddle.arity == 1:
                ok = _line(riddle, net, unet, d, v) and ok
            elif unet is not None:
                ok = _regions(riddle, net, unet, d, v) and ok
            else:
                before = v.wrong
                _enumerate(riddle, net, d, v)
                v.methods.add("enumeration")
                ok = ok and v.wrong == before
            v.checked.append(d.describe())
            if not ok:
                break
        v.exact = ok and not v.refused
        public = riddle.domains[0]  # int64 samples unless one is too large (exact_values widens past int64 itself)
        big = max(abs(public.lo), abs(public.hi)) >= 2**62 and any(abs(c) >= 2**62 for p in samples for c in p)
        exact_vals = exact_output(net, np.asarray(samples, dtype=object if big else np.int64)).fractions()
        if public.size <= 20_000 and not v.refused:
            v.public_values = [safe_float(f) for f in exact_vals[: public.size]]
            v.upside_down = not v.exact and _upside_down(riddle, samples[: public.size], exact_vals)
        if outputs is not None and not isinstance(swept, str):
            _apply_sweep(riddle, net, v, _with_public_run(riddle, swept, samples, outputs))
        if v.exact:
            _same_answer_in_every_order(riddle, net, v)
        if outputs is not None:
            _float_info(riddle, net, v, samples, exact_vals, outputs)
    if not v.exact and not v.refused and neurons < riddle.lower_bound:
        v.notes.append(f"{neurons} neuron(s) is below the proven minimum of {riddle.lower_bound} "
                       f"({riddle.bound_reason}), so no network this small can be exact")
    if v.exact and neurons < riddle.lower_bound:
        v.exact = False
        v.refused = ("internal check failed: a network verified exact beats a proven lower "
                     "bound; it is not counted as exact. Please report this to the instructors")
    last = net.ops[-1]
    if last.op == "relu" or (last.op == "gather" and net.ops[last.args[0]].op == "relu"):
        v.notes.append("the final ReLU counts as a neuron: we count every activation evaluated")
    return v


def _float_info(riddle: Riddle, net: Network, v: Verdict, samples: list[list[int]],
                exact: list[Fraction], outputs: list[float]) -> None:
    """Does the candidate's own forward pass agree with its exact function? (information)"""
    theirs = np.asarray(outputs, dtype=np.float64)
    agree = [safe_float(e) == t for e, t in zip(exact, theirs)]
    v.float_agrees = all(agree)
    if not v.float_agrees and not v.run_fails:
        want = _target(riddle, np.asarray(samples, dtype=np.int64))
        bad = agree.index(False)
        v.notes.append(f"the network's own {net.dtype} forward pass differs from the function "
                       f"its weights define at {samples[bad]} ({exact_text(float(theirs[bad]))} instead of "
                       f"{exact_text(exact[bad])})")
        if not v.exact and bool(np.all(theirs == want)):
            v.notes.append("its float outputs look right only because of rounding: the real "
                           "function of these weights is not the target")
