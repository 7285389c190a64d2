"""Do the exact methods agree with brute force, and with the network that runs?

Seeded random networks, right and wrong: the exact verdict on the description against the
module's own forward pass (small dyadic weights in float64, so the forward pass is exact too),
and the line analysis against exact enumeration on windows far out on the integer line."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from autograder.core.capture import capture
from autograder.core.evaluate import exact_output
from autograder.core.line import LineCapExceeded, verify_line
from autograder.core.normal import normal_form
from autograder.core.riddles import RIDDLES
from autograder.core.verify import verify


class RandomNet(nn.Module):
    """A small ReLU network with dyadic weights, optionally with a residual stream, whose
    input is first shifted by `offset` (so its breakpoints sit near the window it is tested on)."""

    def __init__(self, gen: torch.Generator, offset: float = 0.0, residual: bool = False) -> None:
        super().__init__()
        self.offset, self.residual = offset, residual
        width = int(torch.randint(1, 4, (1,), generator=gen))
        depth = int(torch.randint(1, 4, (1,), generator=gen))
        dims = [1] + [width] * depth
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.out = nn.Linear(dims[-1], 1)
        with torch.no_grad():
            for lin in [*self.layers, self.out]:
                lin.weight.copy_(torch.randint(-4, 5, lin.weight.shape, generator=gen) / 2)
                lin.bias.copy_(torch.randint(-16, 17, lin.bias.shape, generator=gen) / 2)
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x - self.offset
        y = h
        for lin in self.layers:
            h = torch.relu(lin(h))
        if self.residual:
            return y - 2 * self.out(h)
        return self.out(h)


class NudgedFold(nn.Module):
    """The residual parity fold with one fold point moved by a random dyadic step (or not)."""

    def __init__(self, gen: torch.Generator, n: int, offset: float = 0.0) -> None:
        super().__init__()
        self.n, self.offset = n, offset
        self.nudge_at = int(torch.randint(0, 2 * n, (1,), generator=gen))
        self.nudge = float(torch.randint(-2, 3, (1,), generator=gen)) / 2
        self.register_buffer("m", torch.zeros(1, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x - self.offset
        for k in range(self.n - 1, -1, -1):
            y = y - 2 * torch.relu(y - (2.0**k + (self.nudge if k == self.nudge_at else 0.0)))
        return y


def _forward_right(module: nn.Module, lo: int, hi: int, target) -> bool:  # type: ignore[no-untyped-def]
    x = torch.arange(lo, hi + 1, dtype=torch.float64)[:, None]
    with torch.no_grad():
        y = module(x).reshape(-1)
    want = torch.as_tensor(np.asarray(target(np.arange(lo, hi + 1))), dtype=torch.float64)
    return bool(torch.equal(y, want))


def test_does_the_exact_verdict_agree_with_the_forward_pass_where_both_are_exact() -> None:
    """Dyadic weights of a few bits in float64: the forward pass computes the real function
    without rounding, so 'exact' must mean 'every output equals the target'."""
    gen = torch.Generator().manual_seed(1)
    seen = set()
    for trial in range(80):
        riddle = RIDDLES["is_even_16"] if trial % 2 else RIDDLES["lt10_relu"]
        module = (NudgedFold(gen, 4) if trial % 4 == 1 else
                  RandomNet(gen, offset=9.5 if trial % 4 == 0 else 0.0, residual=trial % 3 == 0))
        net = capture(module, 1)
        verdict = verify(riddle, net).exact
        ran = all(_forward_right(module, d.lo, d.hi, riddle.target) for d in riddle.domains)
        assert verdict == ran, (trial, riddle.id)
        seen.add(verdict)
    assert seen == {True, False}


@pytest.mark.parametrize("start", [0, 2**32, 2**62, 2**64 - 2**10])
def test_does_the_line_analysis_agree_with_enumeration_far_out(start: int) -> None:
    gen = torch.Generator().manual_seed(start % 1000 + 7)
    width = 1024
    xs = np.array([[start + i] for i in range(width)], dtype=object)
    offset = float(start) if float(start) <= start else float(np.nextafter(float(start), 0))
    assert start - 1024 <= offset <= start and offset % 2 == 0  # the window sits in [offset, offset + 2^11)
    seen = set()
    for trial in range(40):
        module = (NudgedFold(gen, 11, offset=offset) if trial % 2 else
                  RandomNet(gen, offset=offset + 512, residual=trial % 4 == 0))
        net = capture(module, 1)
        out = exact_output(net, xs).fractions()
        for mu, eps in ((0, 1), (1, 0)):
            want = [(mu + eps * (start + i)) % 2 for i in range(width)]
            wrong = [i for i in range(width) if out[i] != want[i]]
            try:
                failures, _ = verify_line(normal_form(net), [(start, start + width - 1, mu, eps)])
            except LineCapExceeded:
                continue
            assert (not failures) == (not wrong), (start, trial, mu, eps)
            for f in failures:  # a named input must really be wrong (verify re-checks too)
                if f.input is not None and f.reason == "wrong output":
                    assert start <= f.input < start + width
                    assert out[f.input - start] == f.got and f.got != Fraction(want[f.input - start])
            seen.add(not wrong)
    assert seen == {True, False}


# ---- every riddle of the registry, on every graded domain -------------------------------------
# Right networks: the reference answer with edits that keep its function on the domain (units
# that are dead on the whole box, pairs of units that cancel); wrong ones: the same with one live
# unit added whose kink lies inside the box.  The fast verdict (line or region analysis, falling
# back to enumeration only past its cap) must be exactly what exact enumeration of every point
# says; on domains too large to enumerate, enumeration of windows (both ends and around every
# added kink) must never contradict it.
WINDOW = 1024
TRIALS = 2  # per instance: one right, one wrong (each with its own random edits)


def _exact_riddles() -> list[str]:
    """Every riddle the fast methods decide: those with exact outputs (a tolerance riddle is
    decided point by point on its small domain, which is enumeration already)."""
    return [rid for rid, r in RIDDLES.items() if r.rule == "exact"]


class Edited(nn.Module):
    """`base` with extra ReLU units read through a constant mixing column (added to its output),
    and optionally one more unit that bends its input: base(x + ReLU(bend·x + c)·row)."""

    def __init__(self, base: nn.Module, weight: torch.Tensor, bias: torch.Tensor, mix: torch.Tensor,
                 bend: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.base = base
        self.extra = _linear(weight, bias)
        self.register_buffer("mix", mix[:, None].clone())
        self.bend = None if bend is None else _linear(bend[0][None, :], bend[1].reshape(1))
        if bend is not None:
            self.register_buffer("row", bend[2][None, :].clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        extra = torch.relu(self.extra(x)) @ self.mix  # first, so that a residual fold can still merge
        if self.bend is not None:
            x = x + torch.relu(self.bend(x)) @ self.row
        return self.base(x) + extra


def _linear(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def _edited(base: nn.Module, arity: int, lo: int, hi: int, rng: np.random.Generator, live: bool,
            near: tuple[int, int] | None = None) -> tuple[nn.Module, list[int]]:
    """`base` with a dead unit and a cancelling pair added (its function unchanged on the box
    [lo, hi]^arity), and, when `live`, a unit whose kink crosses the box `near` (default: the
    whole box) bending its input.  Returns the module and the kinks of the live unit along the
    first input (for windows)."""
    from autograder.core.capture import module_dtype

    dtype = module_dtype(base)
    span = max(abs(lo), abs(hi))
    step = 2.0 ** max(0, (hi - lo).bit_length() - 20)  # dyadic positions that the dtype holds
    rows, biases, mixes, kinks = [], [], [], []
    w = rng.integers(-2, 3, arity).astype(float)
    w[0] = w[0] or 1.0
    rows.append(w)
    biases.append(-float(np.abs(w).sum()) * span - 1.0)  # dead on the whole box
    mixes.append(float(rng.choice([-1.0, 0.5, 2.0])))
    w = rng.integers(-2, 3, arity).astype(float)
    w[0] = w[0] or 1.0
    at = lo + step * int(rng.integers(0, max(1, int((hi - lo) // step))))
    for sign in (1.0, -1.0):  # the same unit twice, mixed with opposite signs
        rows.append(w)
        biases.append(-float(w[0]) * at)
        mixes.append(sign * 0.75)
    bend = None
    if live:
        w = np.zeros(arity)
        w[0] = float(rng.choice([-1.0, 1.0, 2.0]))
        klo, khi = near or (lo, hi)
        kstep = 2.0 ** max(0, (khi - klo).bit_length() - 20)
        at = klo + kstep * int(rng.integers(1, max(2, int((khi - klo) // kstep))))
        row = np.zeros(arity)
        row[int(rng.integers(0, arity))] = float(rng.choice([-1.0, 1.0, 0.5]))
        bend = (torch.tensor(w), torch.tensor(-w[0] * at + float(rng.choice([0.0, 0.5]))), torch.tensor(row))
        kinks.append(int(at))
    module = Edited(base, torch.tensor(np.array(rows)), torch.tensor(biases), torch.tensor(mixes), bend).to(dtype)
    return module, kinks


def _enumerated_wrong(net, riddle, d) -> int:  # type: ignore[no-untyped-def]
    """Exact enumeration of every point of the domain: how many are wrong."""
    g = np.arange(d.lo, d.hi + 1, dtype=np.int64)
    cols = [c.ravel() for c in np.meshgrid(*[g] * d.arity, indexing="ij")]
    out = exact_output(net, np.stack(cols, axis=1))
    want = np.asarray(riddle.target(*cols), dtype=np.int64)
    if out.num.dtype != object and out.den * (int(np.abs(want).max()) + 1) < 2**62:
        return int(np.count_nonzero(out.num.reshape(-1) != want * out.den))
    return int(np.count_nonzero(out.num.reshape(-1).astype(object) - want.astype(object) * out.den))


def _window_wrong(net, riddle, d, centres: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Exact values on windows of a domain too large to enumerate: how many are wrong."""
    xs = set(range(d.lo, d.lo + WINDOW)) | set(range(d.hi - WINDOW + 1, d.hi + 1))
    for c in centres:
        xs |= {x for x in range(c - WINDOW // 2, c + WINDOW // 2) if d.lo <= x <= d.hi}
    pts = sorted(xs)
    out = exact_output(net, np.array([[x] for x in pts], dtype=object)).fractions()
    return sum(1 for x, y in zip(pts, out) if y != riddle.target(x))


@pytest.mark.slow
@pytest.mark.parametrize("rid", _exact_riddles())
def test_do_the_fast_methods_agree_with_enumeration_on_every_graded_domain(rid: str) -> None:
    """Right and wrong networks on every instance and every domain of the riddle."""
    from autograder.core.riddles import instances
    from solutions import reference

    factory = getattr(reference, rid, None)
    assert factory is not None, f"solutions/reference.py needs a reference answer for {rid}"
    rng = np.random.default_rng(sum(map(ord, rid)))
    verdicts, fast = set(), 0
    # The edits add units beside the layers, so the plain-layers rule of a sequential riddle
    # would refuse them; that rule has its own tests (test_sequential.py): here only the exact
    # methods are compared with enumeration.
    graded = [replace(inst, architecture=None) for inst in instances(RIDDLES[rid])]
    trials = TRIALS if len(graded) > 2 else 4 * TRIALS  # a riddle of one size gets more networks
    for inst in graded:
        big = inst.domains[-1]
        for trial in range(trials):
            base = factory(inst.n) if inst.n is not None else factory()
            near = inst.domains[(trial // 2) % len(inst.domains)]  # live kinks in each domain in turn
            module, kinks = _edited(base, inst.arity, big.lo, big.hi, rng, live=trial % 2 == 1,
                                    near=(near.lo, near.hi))
            net = capture(module, inst.arity)
            v = verify(inst, net)
            fast += not (v.methods - {"line", "regions"})
            verdicts.add(v.exact)
            first_wrong = None
            for d in inst.domains:
                if d.method != "enumeration":
                    wrong = _window_wrong(net, inst, d, kinks)
                    assert not (wrong and v.exact), (rid, inst.n, trial, d.name)
                    for c in v.counterexamples:  # a shown input is really wrong
                        assert exact_output(net, np.array([c.input], dtype=object)).fractions()[0] != inst.target(*c.input)
                    continue
                wrong = _enumerated_wrong(net, inst, d)
                if wrong and first_wrong is None:
                    first_wrong = (d, wrong)
            if all(d.method == "enumeration" for d in inst.domains):
                assert v.exact == (first_wrong is None), (rid, inst.n, trial)
                if first_wrong is not None and not v.refused:
                    d, wrong = first_wrong
                    assert v.checked[-1] == d.describe(), (rid, inst.n, trial)
                    if not v.partial_count:
                        assert v.wrong == wrong, (rid, inst.n, trial)
    assert verdicts == {True, False}, rid
    assert fast >= trials * len(graded) // 2, f"{rid}: the fast methods decided only {fast} networks"
