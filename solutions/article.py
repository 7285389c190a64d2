"""The source article's own constructions, reproduced faithfully, with the verdict each earns.

`ARTICLE` lists (function, riddle id, expected status, expected neurons, why); the tests
check every row, and `make demo` prints them.
"""

from __future__ import annotations

import torch
from torch import nn

from .reference import _set


def sigmoid_10_minus_x() -> nn.Module:
    """The article's first answer: sigmoid(10 − x)."""
    return nn.Sequential(_set(nn.Linear(1, 1), [[-1.0]], [10.0]), nn.Sigmoid())


def sigmoid_100_times() -> nn.Module:
    """The article's "tighter" answer: sigmoid(100·(10 − x))."""
    return nn.Sequential(_set(nn.Linear(1, 1), [[-100.0]], [1000.0]), nn.Sigmoid())


class MinModel(nn.Module):
    """Equation 1 of the article: min(a, b) = 0.5·(a + b − ReLU(b − a) − ReLU(a − b))."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = _set(nn.Linear(2, 2), [[-1.0, 1.0], [1.0, -1.0]], [0.0, 0.0])
        self.out = _set(nn.Linear(2, 1), [[-0.5, -0.5]], [0.0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x[:, 0:1] + x[:, 1:2]) + self.out(torch.relu(self.hidden(x)))


class LearnedMin(nn.Module):
    """What the article's training found: a − 1.41·0.71·ReLU(a − b)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = _set(nn.Linear(2, 1), [[1.41, -1.41]], [0.0])
        self.out = _set(nn.Linear(1, 1), [[-0.71]], [0.0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0:1] + self.out(torch.relu(self.hidden(x)))


def abs_chain_1_2_2_2_2_2_1() -> nn.Sequential:
    """The article's is_even network: layers [1,2,2,2,2,2,1] with a ReLU after every Linear.
    Each pair of units computes |y − b| = ReLU(b − y) + ReLU(y − b), for b = 8, 4, 2, 1, 1."""
    bs = [8.0, 4.0, 2.0, 1.0, 1.0]
    layers: list[nn.Module] = [_set(nn.Linear(1, 2), [[-1.0], [1.0]], [bs[0], -bs[0]]), nn.ReLU()]
    for b in bs[1:]:
        layers += [_set(nn.Linear(2, 2), [[-1.0, -1.0], [1.0, 1.0]], [b, -b]), nn.ReLU()]
    layers += [_set(nn.Linear(2, 1), [[1.0, 1.0]], [0.0]), nn.ReLU()]
    return nn.Sequential(*layers)


ARTICLE = [
    (sigmoid_10_minus_x, "lt10_sigmoid", "fail", 1,
     "sigmoid(10 − x) is 0.73 at x = 9 and 0.5 at x = 10: far outside the 0.01 tolerance"),
    (sigmoid_100_times, "lt10_sigmoid", "fail", 1,
     "the threshold sits on the integer 10, where the output is exactly 0.5"),
    (MinModel, "min_network", "pass", 2,
     "Equation 1 is exact; it needs the skip term a + b and 2 units (1 suffice)"),
    (LearnedMin, "min_network", "fail", 1,
     "1.41 × 0.71 = 1.0011, not 1: off by up to about 0.11 on the public grid"),
    (abs_chain_1_2_2_2_2_2_1, "is_even_16", "pass", 11,
     "exact on 0..15, but 11 neurons under our count (10 hidden + the final ReLU), not 6"),
]
