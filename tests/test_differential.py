"""Do the exact methods agree with brute force, and with the network that runs?

Seeded random networks, right and wrong: the exact verdict on the description against the
module's own forward pass (small dyadic weights in float64, so the forward pass is exact too),
and the line analysis against exact enumeration on windows far out on the integer line."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from autograder.capture import capture
from autograder.evaluate import exact_output
from autograder.line import LineCapExceeded, verify_line
from autograder.normal import normal_form
from autograder.riddles import RIDDLES
from autograder.verify import verify


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
