"""Reference answers, one function per riddle (named like the riddle), plus variants.

Weights are integers or dyadic fractions, so the exact function equals what a float forward
pass computes.  Each docstring says what the network computes and why it is right.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _set(layer: nn.Linear, weight: list[list[float]], bias: list[float]) -> nn.Linear:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


def lt10_sigmoid() -> nn.Module:
    """sigmoid(100·(9.5 − x)): the threshold 9.5 lies strictly between 9 and 10, and
    |z| >= 50 on every integer, far beyond logit(0.99) ≈ 4.6."""
    return nn.Sequential(_set(nn.Linear(1, 1), [[-100.0]], [950.0]), nn.Sigmoid())


def lt10_relu() -> nn.Module:
    """ReLU(10 − x) − ReLU(9 − x): exactly 1 for x <= 9, exactly 0 for x >= 10 (2 units)."""
    return nn.Sequential(_set(nn.Linear(1, 2), [[-1.0], [-1.0]], [10.0, 9.0]), nn.ReLU(),
                         _set(nn.Linear(2, 1), [[1.0, -1.0]], [0.0]))


class MinSkip(nn.Module):
    """min(a, b) = a − ReLU(a − b): one unit and a skip connection."""

    def __init__(self) -> None:
        super().__init__()
        self.diff = _set(nn.Linear(2, 1), [[1.0, -1.0]], [0.0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1] - torch.relu(self.diff(x))


def min_network() -> nn.Module:
    return MinSkip()


def min_network_sequential(k: float = 2.0**20) -> nn.Module:
    """Plain Sequential, 2 units: ReLU(b + K) − ReLU(b − a) − K, exact while b >= −K."""
    return nn.Sequential(_set(nn.Linear(2, 2), [[0.0, 1.0], [-1.0, 1.0]], [k, 0.0]), nn.ReLU(),
                         _set(nn.Linear(2, 1), [[1.0, -1.0]], [-k]))


def min_network_everywhere() -> nn.Module:
    """Plain Sequential, 3 units, exact on all of R²: ReLU(b) − ReLU(−b) − ReLU(b − a)."""
    return nn.Sequential(_set(nn.Linear(2, 3), [[0.0, 1.0], [0.0, -1.0], [-1.0, 1.0]], [0.0, 0.0, 0.0]),
                         nn.ReLU(), _set(nn.Linear(3, 1), [[1.0, -1.0, -1.0]], [0.0]))


class ResidualFold(nn.Module):
    """Parity with n units: y <- y − 2·ReLU(y − 2^k) for k = n−1, ..., 0.

    Each step maps y in [0, 2^(k+1)] to min(y, 2^(k+1) − y) in [0, 2^k], which keeps the
    parity of y because 2^(k+1) is even.  After the k = 0 step, y is x mod 2."""

    def __init__(self, n_bits: int) -> None:
        super().__init__()
        self.folds = nn.ModuleList(_set(nn.Linear(1, 1), [[1.0]], [-(2.0**k)]) for k in range(n_bits - 1, -1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for fold in self.folds:
            y = y - 2 * torch.relu(fold(y))
        return y


def is_even_network(n_bits: int) -> nn.Module:
    """n units for n >= 2 (the proven minimum); the identity for n = 1 (0 units)."""
    if n_bits == 1:
        return nn.Identity()
    return ResidualFold(n_bits).double() if n_bits > 24 else ResidualFold(n_bits)


def tent_folds(n_bits: int) -> nn.Sequential:
    """Plain Sequential with 2n units: per layer ReLU(y) carries y (y >= 0) and
    ReLU(y − 2^k) folds; the next Linear forms y − 2·fold."""
    layers: list[nn.Module] = []
    width_in = 1
    for k in range(n_bits - 1, -1, -1):
        if width_in == 1:
            layers.append(_set(nn.Linear(1, 2), [[1.0], [1.0]], [0.0, -(2.0**k)]))
        else:
            layers.append(_set(nn.Linear(2, 2), [[1.0, -2.0], [1.0, -2.0]], [0.0, -(2.0**k)]))
        layers.append(nn.ReLU())
        width_in = 2
    layers.append(_set(nn.Linear(2, 1), [[1.0, -2.0]], [0.0]))
    seq = nn.Sequential(*layers)
    return seq.double() if n_bits > 24 else seq


def is_even_network_sequential(n_bits: int) -> nn.Module:
    return tent_folds(n_bits)


def is_even_16() -> nn.Module:
    """Plain Sequential, 8 units (tent folds for n = 4)."""
    return tent_folds(4)


def is_even_16_residual() -> nn.Module:
    """4 units with a residual stream: the proven minimum."""
    return ResidualFold(4)


def is_even_16_zigzag() -> nn.Module:
    """Plain Sequential with 7 units, layers [1, 4, 3, 1], integer weights.

    Layer 1 folds 0..16 three ways: t = ReLU(3x − 2) − 2·ReLU(x − 4) + 2·ReLU(8 − x) − 2·ReLU(x − 12)
    zig-zags with slope ±1 between 14 and 18 on 1..16 (and is 16 at 0), so t ≡ x mod 2 (16 is
    even).  Layer 2 reads parity off the five integers 14..18 with three units:
    6 − ReLU(52 − 3t) + 2·ReLU(16 − t) − 2·ReLU(t − 15).  Exact on 0..16, wrong at 17."""
    return nn.Sequential(
        _set(nn.Linear(1, 4), [[3.0], [1.0], [-1.0], [1.0]], [-2.0, -4.0, 8.0, -12.0]), nn.ReLU(),
        _set(nn.Linear(4, 3), [[-3.0, 6.0, -6.0, 6.0], [-1.0, 2.0, -2.0, 2.0], [1.0, -2.0, 2.0, -2.0]],
             [52.0, 16.0, -15.0]), nn.ReLU(),
        _set(nn.Linear(3, 1), [[-1.0, 2.0, -2.0]], [6.0]))


def is_even_16_sequential() -> nn.Module:
    """The best plain network known for 0..15: the 7-unit zig-zag (the proven minimum is 6)."""
    return is_even_16_zigzag()


def answer(rid: str) -> Callable[..., nn.Module] | None:
    """A riddle's registered reference answer: the function of this module named like the
    riddle (None when there is none; a test fails for every riddle without one)."""
    fn = globals().get(rid)
    return fn if callable(fn) and not isinstance(fn, type) else None


def answers() -> dict[str, Callable[..., nn.Module]]:
    """The reference answer of every riddle of the registry that has one, in registry order."""
    from autograder.core.riddles import RIDDLES

    return {rid: fn for rid in RIDDLES if (fn := answer(rid)) is not None}
