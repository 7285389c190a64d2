"""A captured network as plain data: a list of ops with float arrays, nothing executable.

This is the only thing that crosses from a student's process to the grader.  `from_json`
validates it completely (known op names, arguments that refer to earlier ops, shapes that
agree, finite numbers, size caps), so the grader's own code can evaluate it without ever
trusting the process that produced it.

Every value is a tensor of shape (batch, *shape); ops act on each example separately.
Ops (``args`` are indices of earlier ops):
  input    shape=[arity]
  linear   args=[i], weight (out, in), bias (out) or null; acts on the last axis
  relu, sigmoid   args=[i]
  add, sub args=[i, j]  (same shape)
  shift    args=[i], const: value + const (const broadcast to the shape)
  scale    args=[i], const, divide: value * const, or value / const when divide is true
  gather   args=[i, j, ...], index: for each output element, a flat position in the
           concatenation of the flattened arguments (slicing, reshapes, concatenation)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

OP_NAMES = ("input", "linear", "relu", "sigmoid", "add", "sub", "shift", "scale", "gather")
ACTIVATIONS = ("relu", "sigmoid")
MAX_OPS = 20_000
MAX_NUMBERS = 2_000_000


class DescriptionError(ValueError):
    """A network description that is malformed, too large or not finite."""


@dataclass
class Op:
    """One op of a captured network.  `where` says where in the student's code it came from."""

    op: str
    args: list[int]
    shape: tuple[int, ...]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    const: np.ndarray | None = None
    divide: bool = False
    index: np.ndarray | None = None
    where: str = ""

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        extra = ""
        if self.weight is not None:
            extra = f" weight{list(self.weight.shape)}"
        elif self.const is not None:
            extra = f" const{list(self.const.shape)}{' /' if self.divide else ''}"
        return f"Op({self.op}{self.args} -> {list(self.shape)}{extra})"


@dataclass
class Network:
    """A captured network: ops in evaluation order; the last one is the output."""

    ops: list[Op]
    dtype: str = "float32"
    arity: int = 1

    @property
    def output(self) -> int:
        return len(self.ops) - 1

    def neurons(self) -> int:
        """Neuron count: scalar nonlinear activations per example (docs/theory.md §1)."""
        return sum(op.size for op in self.ops if op.op in ACTIVATIONS)

    def activations(self) -> set[str]:
        return {op.op for op in self.ops if op.op in ACTIVATIONS}

    def consumers(self) -> list[list[int]]:
        users: list[list[int]] = [[] for _ in self.ops]
        for k, op in enumerate(self.ops):
            for a in op.args:
                users[a].append(k)
        return users

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for op in self.ops:
            kinds[op.op] = kinds.get(op.op, 0) + 1
        return f"Network({self.dtype}, arity {self.arity}, {self.neurons()} neurons, ops {kinds})"

    # ---- plain data ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def arr(a: np.ndarray | None) -> Any:
            return None if a is None else a.tolist()

        ops = []
        for op in self.ops:
            d: dict[str, Any] = {"op": op.op, "args": op.args, "shape": list(op.shape)}
            if op.where:
                d["where"] = op.where
            if op.op == "linear":
                d["weight"], d["bias"] = arr(op.weight), arr(op.bias)
            elif op.op in ("shift", "scale"):
                d["const"] = arr(op.const)
                if op.divide:
                    d["divide"] = True
            elif op.op == "gather":
                d["index"] = arr(op.index)
            ops.append(d)
        return {"dtype": self.dtype, "arity": self.arity, "ops": ops}


def _floats(value: Any, what: str) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DescriptionError(f"{what} is not an array of numbers") from None
    if not np.all(np.isfinite(a)):
        raise DescriptionError(f"{what} contains NaN or infinite values")
    return a


def _check_broadcast(const: np.ndarray, shape: tuple[int, ...], k: int) -> None:
    try:
        if np.broadcast_shapes(const.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise DescriptionError(
            f"op {k}: constant of shape {list(const.shape)} does not fit shape {list(shape)}"
        ) from None


def from_json(data: Any) -> Network:
    """Validate untrusted plain data and build a Network, or raise DescriptionError."""
    if not isinstance(data, dict) or not isinstance(data.get("ops"), list):
        raise DescriptionError("a network description must be an object with a list of ops")
    raw_ops = data["ops"]
    if not raw_ops or len(raw_ops) > MAX_OPS:
        raise DescriptionError(f"a network must have between 1 and {MAX_OPS} ops")
    dtype = data.get("dtype", "float32")
    if dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise DescriptionError(f"unsupported dtype {dtype!r}")
    arity = data.get("arity")
    if not isinstance(arity, int) or not 1 <= arity <= 8:
        raise DescriptionError("arity must be a small positive integer")
    ops: list[Op] = []
    numbers = 0
    for k, d in enumerate(raw_ops):
        if not isinstance(d, dict) or d.get("op") not in OP_NAMES:
            raise DescriptionError(f"op {k}: unknown op {d.get('op') if isinstance(d, dict) else d!r}")
        name = d["op"]
        args = d.get("args", [])
        shape = d.get("shape")
        if (not isinstance(args, list) or not all(isinstance(a, int) and 0 <= a < k for a in args)
                or not isinstance(shape, list) or len(shape) > 4
                or not all(isinstance(s, int) and 0 <= s <= MAX_NUMBERS for s in shape)):
            raise DescriptionError(f"op {k} ({name}): bad args or shape")
        op = Op(name, list(args), tuple(shape), where=str(d.get("where", ""))[:300])
        numbers += op.size
        want_args = {"input": 0, "linear": 1, "relu": 1, "sigmoid": 1, "add": 2, "sub": 2,
                     "shift": 1, "scale": 1}.get(name)
        if want_args is not None and len(args) != want_args:
            raise DescriptionError(f"op {k} ({name}): expects {want_args} argument(s)")
        ins = [ops[a].shape for a in args]
        if name == "input":
            if k != 0 or shape != [arity]:
                raise DescriptionError("the first op, and only it, is the input of shape [arity]")
        elif k == 0:
            raise DescriptionError("the first op must be the input")
        elif name == "linear":
            op.weight = _floats(d.get("weight"), f"op {k} weight")
            numbers += op.weight.size
            if op.weight.ndim != 2 or not ins[0] or ins[0][-1] != op.weight.shape[1]:
                raise DescriptionError(f"op {k} (linear): weight does not fit its input")
            if d.get("bias") is not None:
                op.bias = _floats(d["bias"], f"op {k} bias")
                if op.bias.shape != (op.weight.shape[0],):
                    raise DescriptionError(f"op {k} (linear): bias does not fit the weight")
            if op.shape != ins[0][:-1] + (op.weight.shape[0],):
                raise DescriptionError(f"op {k} (linear): wrong output shape")
        elif name in ("relu", "sigmoid"):
            if op.shape != ins[0]:
                raise DescriptionError(f"op {k} ({name}): wrong output shape")
        elif name in ("add", "sub"):
            if not (ins[0] == ins[1] == op.shape):
                raise DescriptionError(f"op {k} ({name}): operands must have the same shape")
        elif name in ("shift", "scale"):
            op.const = _floats(d.get("const"), f"op {k} constant")
            op.divide = bool(d.get("divide", False))
            if op.shape != ins[0]:
                raise DescriptionError(f"op {k} ({name}): wrong output shape")
            _check_broadcast(op.const, op.shape, k)
            if op.divide and np.any(op.const == 0):
                raise DescriptionError(f"op {k}: division by zero")
        elif name == "gather":
            if not args:
                raise DescriptionError(f"op {k} (gather): needs at least one argument")
            try:
                op.index = np.asarray(d.get("index"), dtype=np.int64)
            except (TypeError, ValueError, OverflowError):
                raise DescriptionError(f"op {k} (gather): index is not integers") from None
            total = sum(int(np.prod(s, dtype=np.int64)) for s in ins)
            if op.index.shape != op.shape or (op.index.size and (op.index.min() < 0 or op.index.max() >= total)):
                raise DescriptionError(f"op {k} (gather): index out of range or wrong shape")
        if numbers > MAX_NUMBERS:
            raise DescriptionError(f"network too large (over {MAX_NUMBERS:,} numbers)")
        ops.append(op)
    if ops[-1].size != 1 or len(ops[-1].shape) > 1:
        raise DescriptionError(
            f"the network returns shape (batch, {', '.join(map(str, ops[-1].shape))}); "
            "it must return (batch, 1) or (batch,)")
    return Network(ops, dtype=dtype, arity=arity)
