"""Deliberately flawed candidates, one per family of mistake the checker must catch.

`FLAWED` lists (function, riddle id, expected status, a phrase the message must contain).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .reference import ResidualFold, _set


class Lambda(nn.Module):
    """A module around a function: the way students write one-off forward passes."""

    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)  # type: ignore[operator]


def one_unit_lt10() -> nn.Module:
    """ReLU(10 − x) clipped nowhere: right at 9 and above, wrong below."""
    return nn.Sequential(_set(nn.Linear(1, 1), [[-1.0]], [10.0]), nn.ReLU())


def affine_lt10() -> nn.Module:
    """10 − x: right only after thresholding, which the riddle does not do."""
    return _set(nn.Linear(1, 1), [[-1.0]], [10.0])


def comparison_lt10() -> nn.Module:
    return Lambda(lambda x: (x < 10).float())


def torch_min() -> nn.Module:
    return Lambda(lambda x: torch.minimum(x[:, :1], x[:, 1:]))


def product_min() -> nn.Module:
    return Lambda(lambda x: x[:, :1] * x[:, 1:])


def remainder_parity() -> nn.Module:
    return Lambda(lambda x: x % 2)


def abs_parity() -> nn.Module:
    return Lambda(lambda x: torch.abs(x - 1))


class Branchy(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x
        return -x


def control_flow_parity() -> nn.Module:
    return Branchy()


def numpy_parity() -> nn.Module:
    return Lambda(lambda x: torch.from_numpy(np.mod(x.numpy(), 2)))


class RoundingTrick(nn.Module):
    """Zero units: x − 2·round(x/2 − 1/4) using float32 rounding at 1.5·2^23.
    In exact arithmetic this is the constant 1/2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        big = 1.5 * 2.0**23
        h = (x * 0.5 - 0.25 + big) - big
        return x - 2 * h


def rounding_parity() -> nn.Module:
    return RoundingTrick()


def not_a_module() -> object:
    return 42


def raises() -> nn.Module:
    raise RuntimeError("forgot to finish")


def is_even_capped(n_bits: int) -> nn.Module:
    """Folds only the 20 lowest bits: exact for n <= 20, wrong at n = 32 and 64."""
    return ResidualFold(min(n_bits, 20)).double()


def is_even_tanh(n_bits: int) -> nn.Module:
    return nn.Sequential(nn.Linear(1, 1), nn.Tanh())


class AddsItsInput(nn.Module):
    """h + ReLU(W·h + b): a residual block, which a plain stack of layers does not allow."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.layer = nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + torch.relu(self.layer(h))


def residual_parity_sequential() -> nn.Module:
    """is_even_16's own 4-unit answer, given where skips are not allowed."""
    return ResidualFold(4)


def sequential_holding_a_skip() -> nn.Module:
    """An nn.Sequential whose middle module adds a skip: the class alone proves nothing."""
    return nn.Sequential(nn.Linear(1, 2), nn.ReLU(), AddsItsInput(2), nn.Linear(2, 1))


FLAWED = [
    (one_unit_lt10, "lt10_relu", "fail", "below the proven minimum"),
    (affine_lt10, "lt10_relu", "fail", "Not exact"),
    (comparison_lt10, "lt10_relu", "fail", "comparison"),
    (torch_min, "min_network", "fail", "minimum is not allowed"),
    (product_min, "min_network", "fail", "product of two input-dependent tensors"),
    (remainder_parity, "is_even_16", "fail", "remainder"),
    (abs_parity, "is_even_16", "fail", "abs is not allowed"),
    (control_flow_parity, "is_even_16", "fail", "InputControlFlow at line"),
    (numpy_parity, "is_even_16", "fail", "numpy"),
    (rounding_parity, "is_even_16", "fail", "rounding"),
    (not_a_module, "is_even_16", "fail", "not a torch.nn.Module"),
    (raises, "is_even_16", "error", "RuntimeError: forgot to finish"),
    (residual_parity_sequential, "is_even_16_sequential", "fail", "SkipConnection at line"),
    (sequential_holding_a_skip, "is_even_16_sequential", "fail", "is added to the output of layer 1"),
    (is_even_capped, "is_even_network", "fail", "n = 32"),
    (is_even_tanh, "is_even_network", "fail", "Tanh"),
]
