"""Capture a candidate `torch.nn.Module` into a plain `Network` description.

This module runs where the student's code runs (their notebook kernel, or the sandboxed
child process of the grader).  It traces `forward` with torch.fx, replays the graph on a
concrete batch, and translates each op into the small vocabulary of `network.py`.
Anything outside that vocabulary is refused with a `CaptureError` that names the operation
and the line it came from.  The grader never trusts the result: it validates it and checks
that it reproduces the candidate's own outputs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from .fidelity import RANDOM, OpRecorder, compare_runs, module_dtype, place, refuse_hidden_behaviour, student_place
from .network import Network, Op
from .pristine import HERE, TORCH_DIR, is_own_function, is_own_method
from .refusals import (
    BadShape,
    CaptureError,
    ForbiddenOperation,
    HiddenBehaviour,
    InPlaceMutation,
    InputControlFlow,
    NarrowFloat,
)

MAX_UNITS = 1_000_000
MAX_PARAMETERS = 10_000_000
WIDE_FLOATS = (torch.float32, torch.float64)

__all__ = ["CaptureError", "capture", "forward_outputs", "module_dtype", "place"]


@dataclass
class Dep:
    """An input-dependent tensor: op index in the description plus its concrete value.

    `version` is the tensor's in-place version counter when this value was made (shared by a
    tensor and all its views); reading a Dep whose counter has moved on means reading a value
    that an in-place op has changed since, which the description cannot express."""

    idx: int
    value: torch.Tensor
    version: int = -1

    def __post_init__(self) -> None:
        if self.version < 0:
            self.version = self.value._version


@dataclass
class DepSeq:
    """A tuple of input-dependent tensors (from unbind, split, chunk)."""

    items: list[Dep]


ADD = {"add", "__add__", "__radd__", "add_", "iadd", "__iadd__"}
SUB = {"sub", "subtract", "__sub__", "__rsub__", "rsub", "sub_", "isub", "__isub__"}
MUL = {"mul", "multiply", "__mul__", "__rmul__", "mul_", "imul", "__imul__"}
DIV = {"truediv", "div", "divide", "true_divide", "__truediv__", "div_", "itruediv"}
NEG = {"neg", "negative", "__neg__"}
RELU = {"relu", "relu_"}
SIGMOID = {"sigmoid", "sigmoid_"}
CLAMP = {"clamp", "clip", "clamp_min", "clamp_", "clamp_min_", "clip_"}
ALIAS = {"pos", "contiguous", "clone", "detach", "float", "double", "to", "type_as",
         "requires_grad_", "identity"}
REARRANGE = {"getitem", "reshape", "view", "flatten", "squeeze", "unsqueeze", "permute",
             "transpose", "t", "expand", "expand_as", "repeat", "narrow", "select", "cat",
             "concat", "concatenate", "stack", "hstack", "unbind", "split", "chunk", "movedim",
             "moveaxis", "swapaxes", "swapdims", "flip", "roll", "view_as", "reshape_as",
             "unflatten", "tile", "index_select", "squeeze_", "unsqueeze_"}
SHAPE_QUERIES = {"size", "dim", "numel", "__len__", "len", "ndimension", "nelement"}
REFUSED = {
    "mod": "the remainder operator %", "__mod__": "the remainder operator %",
    "remainder": "torch.remainder", "fmod": "torch.fmod",
    "abs": "abs", "absolute": "abs", "__abs__": "abs", "sign": "sign",
    "round": "rounding", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
    "floordiv": "floor division //", "floor_divide": "floor division //",
    "min": "min", "max": "max", "minimum": "minimum", "maximum": "maximum", "amin": "min",
    "amax": "max", "where": "where", "fmin": "min", "fmax": "max", "heaviside": "heaviside",
    "numpy": "numpy (.numpy())", "item": ".item()", "tolist": ".tolist()",
}
COMPARISONS = {"lt", "gt", "le", "ge", "eq", "ne", "less", "greater", "less_equal",
               "greater_equal", "equal", "not_equal", "__lt__", "__gt__", "__le__", "__ge__",
               "__eq__", "__ne__"}
ALLOWED_TEXT = ("only nn.Linear, the riddle's activation and affine glue (+, -, * or / by "
                "constants, slicing, concatenation, reshapes) are allowed")




def _where(node: fx.Node) -> str:
    """The student's line an fx node came from (recorded by `_Tracer` while tracing)."""
    return str(node.meta.get("student_place", ""))


class _Tracer(fx.Tracer):
    """torch.fx's tracer, noting for each node the student's line that made it.

    (fx's own `record_stack_traces` imports much of torch's compiler stack on first use,
    seconds that a student would pay on their first check; a frame walk is enough here.)"""

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        node = super().create_node(*args, **kwargs)
        node.meta["student_place"] = student_place()
        return node


def _name(node: fx.Node) -> str:
    """The op's name, once its function is known to be PyTorch's own (a name alone proves nothing)."""
    if node.op == "call_method":
        name = str(node.target)
        if not is_own_method(name):
            raise ForbiddenOperation(f".{name}() is not a method PyTorch gives tensors (it was added or "
                                     f"replaced): {ALLOWED_TEXT}")
        return name
    name = str(getattr(node.target, "__name__", node.target))
    if node.op == "call_function" and not is_own_function(node.target):
        raise ForbiddenOperation(f"{name}() is a function of your own that was traced as one step "
                                 "(torch.fx.wrap or similar), so what it computes cannot be seen; "
                                 "write its body in forward with PyTorch's own operations")
    return name


def _only(name: str, kwargs: dict[str, Any], allowed: set[str]) -> None:
    """Refuse keyword arguments the description does not model (rounding_mode=, out=, ...)."""
    extra = sorted(set(kwargs) - allowed)
    if extra:
        raise ForbiddenOperation(f"{name} with {', '.join(f'{k}=' for k in extra)} is not allowed: {ALLOWED_TEXT}")


def _walk(obj: Any, fn: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        return type(obj)(_walk(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _walk(v, fn) for k, v in obj.items()}
    return fn(obj)


def _deps_in(obj: Any) -> list[Dep]:
    """The input-dependent tensors among (nested) arguments, in order."""
    found: list[Dep] = []
    for o in _flatten(obj):
        if isinstance(o, Dep):
            found.append(o)
        elif isinstance(o, DepSeq):
            found.extend(o.items)
    return found


def _flatten(obj: Any) -> list[Any]:
    if isinstance(obj, (list, tuple)):
        return [x for o in obj for x in _flatten(o)]
    if isinstance(obj, dict):
        return [x for o in obj.values() for x in _flatten(o)]
    return [obj]


class _Builder:
    def __init__(self, module: nn.Module, x: torch.Tensor) -> None:
        self.module = module
        self.x = x
        self.batch = x.shape[0]
        self.ops: list[Op] = []
        self.units = 0
        self.where = ""
        self.made_at: dict[int, str] = {}  # op index -> the student's line that made it
        self.recorder: OpRecorder | None = None  # records the replayed ops (fidelity.py)

    # ---- emitting ----------------------------------------------------------------------
    def emit(self, op: Op, value: torch.Tensor) -> Dep:
        if not op.where:
            op.where = self.where
        if op.op in ("relu", "sigmoid"):
            self.units += op.size
            if self.units > MAX_UNITS:
                raise CaptureError(f"the network has more than {MAX_UNITS:,} units")
        self.ops.append(op)
        return Dep(len(self.ops) - 1, value)

    def feat(self, d: Dep) -> tuple[int, ...]:
        return tuple(d.value.shape[1:])

    def const_array(self, c: Any, like: torch.Tensor, feat: tuple[int, ...]) -> np.ndarray:
        """A constant operand exactly as torch computes with it: in the op's result dtype.

        torch's type promotion casts a Python scalar (int or float) and a constant tensor to
        the dtype of the result before the arithmetic, so that cast is the constant's value:
        0.1 meets a float32 tensor as float32(0.1) and a float64 tensor as float64(0.1).  A
        Python float is first a float64 and a Python int an int64, exactly as torch wraps them."""
        if isinstance(c, bool):
            c = int(c)
        if isinstance(c, int):
            if not -(2**63) <= c < 2**63:
                raise ForbiddenOperation(f"the constant {c} does not fit in 64 bits")
            t = torch.tensor(c, dtype=torch.int64)
        elif isinstance(c, float):
            t = torch.tensor(c, dtype=torch.float64)
        else:
            t = torch.as_tensor(c).detach()
        if like.is_floating_point():
            t = t.to(like.dtype)
        arr = np.asarray(t.to(torch.float64).cpu().numpy(), dtype=np.float64)
        if arr.ndim == len(feat) + 1:
            if arr.shape[0] == 1 or np.all(arr == arr[:1]):
                arr = arr[0]
            else:
                raise BadShape("a constant differs between the examples of the batch")
        if arr.ndim > len(feat):
            raise BadShape(f"a constant of shape {list(arr.shape)} would broadcast across the batch")
        return arr

    def broadcast(self, d: Dep, feat: tuple[int, ...]) -> Dep:
        if self.feat(d) == feat:
            return d
        src = np.arange(int(np.prod(self.feat(d), dtype=np.int64))).reshape(self.feat(d))
        index = np.broadcast_to(src, feat).copy()
        return self.emit(Op("gather", [d.idx], feat, index=index), d.value.expand(self.batch, *feat))

    def shift(self, d: Dep, c: np.ndarray, value: torch.Tensor) -> Dep:
        d = self.broadcast(d, tuple(value.shape[1:]))
        return self.emit(Op("shift", [d.idx], tuple(value.shape[1:]), const=c), value)

    def scale(self, d: Dep, c: np.ndarray, value: torch.Tensor, divide: bool = False) -> Dep:
        d = self.broadcast(d, tuple(value.shape[1:]))
        return self.emit(Op("scale", [d.idx], tuple(value.shape[1:]), const=c, divide=divide), value)

    # ---- the walk ------------------------------------------------------------------------
    def run(self, graph: fx.Graph) -> Network:
        env: dict[fx.Node, Any] = {}
        out: Any = None
        for node in graph.nodes:
            self.where = _where(node)
            if node.op == "placeholder":
                if self.ops:
                    raise BadShape("forward must take exactly one input tensor")
                env[node] = self.emit(Op("input", [], (self.x.shape[1],)), self.x)
            elif node.op == "get_attr":
                env[node] = _fetch(self.module, str(node.target))
            elif node.op == "output":
                out = env[node.args[0]] if isinstance(node.args[0], fx.Node) else node.args[0]
            else:
                args = _walk(node.args, lambda a: env[a] if isinstance(a, fx.Node) else a)
                kwargs = _walk(dict(node.kwargs), lambda a: env[a] if isinstance(a, fx.Node) else a)
                try:
                    env[node] = self.call(node, args, kwargs)
                except CaptureError as e:
                    e.where = e.where or self.where
                    raise
                for d in _deps_in(env[node]):
                    self.made_at.setdefault(d.idx, self.where)
        if isinstance(out, Dep):
            self.check_fresh([out])
        if not isinstance(out, Dep):
            raise BadShape("forward must return one tensor that depends on its input")
        if out.value.shape[0] != self.batch or out.value[0].numel() != 1 or out.value.dim() > 2:
            raise BadShape(f"forward returns shape {tuple(out.value.shape)} for a batch of "
                               f"{self.batch}; it must return (batch, 1) or (batch,)")
        if out.idx != len(self.ops) - 1:  # the output must be the last op
            out = self.emit(Op("gather", [out.idx], self.feat(out),
                               index=np.arange(out.value[0].numel()).reshape(self.feat(out))), out.value)
        return Network(self.ops, dtype=str(self.x.dtype).replace("torch.", ""), arity=self.x.shape[1])

    def check_fresh(self, deps: list[Dep]) -> None:
        """Refuse reading a value that an in-place op has changed since it was made."""
        for d in deps:
            if d.value._version != d.version:
                made = self.made_at.get(d.idx, "")
                raise InPlaceMutation(
                    f"a value{f' made at {made}' if made else ''} is read after an in-place op "
                    "(such as relu_(), clamp_(), add_() or +=, on it or on a view of it) changed it; "
                    "write a new value instead, e.g. h = torch.relu(h)", self.where)

    def check_precision(self, name: str, deps: list[Dep], value: Any) -> None:
        """Refuse computing in a narrower float type than the values it reads: that rounds."""
        for v in _flatten(value if isinstance(value, (list, tuple)) else [value]):
            if not isinstance(v, torch.Tensor) or not v.is_floating_point():
                continue
            widest = max((d.value.element_size() for d in deps if d.value.is_floating_point()), default=0)
            if v.dtype not in WIDE_FLOATS or v.element_size() < widest:
                raise NarrowFloat(f"{name} computes in {str(v.dtype).replace('torch.', '')}, narrower "
                                  "than its input: that rounds every value; use float32 or float64 "
                                  "throughout", self.where)

    def concrete(self, node: fx.Node, args: Any, kwargs: Any) -> Any:
        """Run the node on the concrete values of its arguments."""
        real = lambda o: o.value if isinstance(o, Dep) else ([d.value for d in o.items] if isinstance(o, DepSeq) else o)  # noqa: E731
        if self.recorder is None:
            return self.invoke(node, _walk(args, real), _walk(kwargs, real))
        with self.recorder:  # watching only the node's own op, not the builder's bookkeeping
            return self.invoke(node, _walk(args, real), _walk(kwargs, real))

    def invoke(self, node: fx.Node, args: Any, kwargs: Any) -> Any:
        """Run the node's target on the given arguments."""
        if node.op == "call_function":
            return node.target(*args, **kwargs)  # type: ignore[operator]
        if node.op == "call_method":
            return getattr(args[0], str(node.target))(*args[1:], **kwargs)
        return self.module.get_submodule(str(node.target))(*args, **kwargs)

    def call(self, node: fx.Node, args: Any, kwargs: Any) -> Any:
        deps = _deps_in((args, kwargs))
        self.check_fresh(deps)
        name = _name(node)
        if node.op == "call_module":
            sub = self.module.get_submodule(str(node.target))
            name = {nn.Linear: "linear_module", nn.ReLU: "relu", nn.Sigmoid: "sigmoid",
                    nn.Identity: "identity", nn.Flatten: "flatten"}.get(type(sub), "")
            if not name:
                raise ForbiddenOperation(f"nn.{type(sub).__name__} (layer '{node.target}') is not "
                                   f"allowed: {ALLOWED_TEXT}")
        if name in RANDOM:
            raise ForbiddenOperation(f"{name} draws random numbers: a network must compute the same "
                                     "function at every call")
        if not deps:  # constant folding: this does not depend on the input
            return self.concrete(node, args, kwargs)
        value = self.concrete(node, args, kwargs)
        self.check_precision(name, deps, value)
        if name in SHAPE_QUERIES or (name == "getattr" and args[1] in ("shape", "dtype", "device", "ndim")):
            return value
        if isinstance(value, torch.Tensor) and (value.dim() == 0 or value.shape[0] != self.batch):
            raise BadShape(f"{name} changes the batch dimension: each example must be computed on its own")
        if name in REFUSED:
            raise ForbiddenOperation(f"{REFUSED[name]} is not allowed: {ALLOWED_TEXT}")
        if name in COMPARISONS:
            raise ForbiddenOperation(f"a comparison ({name}) is not allowed: {ALLOWED_TEXT}")
        for v in _flatten(value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(v, torch.Tensor) and not v.is_floating_point():
                raise ForbiddenOperation(f"{name} gives {str(v.dtype).replace('torch.', '')} values computed "
                                         "from the input: converting to an integer or boolean type rounds, "
                                         "so it is not allowed")
        if name in RELU | SIGMOID:
            _only(name, kwargs, {"inplace"})
        elif name in CLAMP:
            _only(name, kwargs, {"min", "max"})
        elif name in ADD | SUB | MUL | DIV | NEG:
            _only(name, kwargs, {"other", "alpha"})
        elif name in ("matmul", "mm", "__matmul__"):
            _only(name, kwargs, set())
        elif name == "linear":
            _only(name, kwargs, {"weight", "bias"})
        if name in ("linear_module", "linear"):
            if name == "linear_module":
                sub = self.module.get_submodule(str(node.target))
                weight, bias, x = sub.weight, sub.bias, args[0]
            else:
                x = args[0]
                weight = args[1] if len(args) > 1 else kwargs.get("weight")
                bias = args[2] if len(args) > 2 else kwargs.get("bias")
            if not isinstance(x, Dep) or isinstance(weight, Dep) or isinstance(bias, Dep):
                raise ForbiddenOperation("a linear layer's weights must not depend on the input")
            w = weight.detach().to(torch.float64).cpu().numpy()
            b = None if bias is None else bias.detach().to(torch.float64).cpu().numpy()
            return self.emit(Op("linear", [x.idx], tuple(value.shape[1:]), weight=w, bias=b), value)
        if name == "identity" or name in ALIAS:
            if name == "to" and any(isinstance(a, torch.dtype) and not a.is_floating_point
                                    for a in _flatten((args, kwargs))):
                raise ForbiddenOperation("converting to an integer dtype rounds: not allowed")
            return Dep(deps[0].idx, value) if isinstance(value, torch.Tensor) else value
        if name in RELU or name in SIGMOID:
            act = "relu" if name in RELU else "sigmoid"
            return self.emit(Op(act, [deps[0].idx], tuple(value.shape[1:])), value)
        if name in CLAMP:
            return self.clamp(args, kwargs, value, name)
        if name in ADD | SUB | MUL | DIV:
            return self.binary(name, args, kwargs, value)
        if name in NEG:
            return self.scale(args[0], np.asarray(-1.0), value)
        if name in ("matmul", "mm", "__matmul__"):
            return self.matmul(args, value)
        if name == "sum":
            return self.sum_last(args, kwargs, value)
        if name in REARRANGE:
            if name in ("squeeze", "squeeze_"):
                self.refuse_batch_squeeze(node, args, kwargs)
            return self.rearrange(node, args, kwargs, value)
        raise ForbiddenOperation(f"{name} is not allowed: {ALLOWED_TEXT}")

    def clamp(self, args: Any, kwargs: Any, value: torch.Tensor, name: str) -> Dep:
        lo = kwargs.get("min", args[1] if len(args) > 1 else None)
        hi = kwargs.get("max", args[2] if len(args) > 2 else None)
        if name.startswith("clamp_min"):
            lo, hi = (args[1] if len(args) > 1 else kwargs.get("min")), None
        if hi is not None or isinstance(lo, Dep):
            raise ForbiddenOperation(f"{name} with a maximum (a min) is not allowed: {ALLOWED_TEXT}")
        x: Dep = args[0]
        if lo is None:
            return Dep(x.idx, value)
        c = self.const_array(lo, value, self.feat(x))
        if np.all(c == 0):
            return self.emit(Op("relu", [x.idx], self.feat(x)), value)
        shifted = self.shift(x, -c, value - torch.as_tensor(lo, dtype=value.dtype))
        r = self.emit(Op("relu", [shifted.idx], self.feat(shifted)), torch.relu(shifted.value))
        return self.shift(r, c, value)

    def binary(self, name: str, args: Any, kwargs: Any, value: torch.Tensor) -> Dep:
        a, b = args[0], args[1] if len(args) > 1 else kwargs.get("other")
        if name in ("__rsub__", "rsub"):
            a, b = b, a
        alpha = kwargs.get("alpha", 1)
        if alpha != 1:
            raise ForbiddenOperation(f"{name} with alpha is not allowed; multiply explicitly")
        feat = tuple(value.shape[1:])
        kind = "add" if name in ADD else "sub" if name in SUB else "mul" if name in MUL else "div"
        if isinstance(a, Dep) and isinstance(b, Dep):
            if kind in ("mul", "div"):
                raise ForbiddenOperation(f"a {'product' if kind == 'mul' else 'quotient'} of two "
                                   f"input-dependent tensors is not allowed: {ALLOWED_TEXT}")
            if a.value.dim() != b.value.dim():
                raise BadShape(f"{kind} of tensors shaped {tuple(a.value.shape)} and "
                                   f"{tuple(b.value.shape)} broadcasts across the batch; "
                                   "reshape one of them first")
            a, b = self.broadcast(a, feat), self.broadcast(b, feat)
            return self.emit(Op(kind, [a.idx, b.idx], feat), value)
        if isinstance(a, Dep):
            c = self.const_array(b, value, feat)
            if kind == "add":
                return self.shift(a, c, value)
            if kind == "sub":
                return self.shift(a, -c, value)
            if kind == "div" and np.any(c == 0):
                raise CaptureError("division by zero")
            return self.scale(a, c, value, divide=(kind == "div"))
        c = self.const_array(a, value, feat)
        if kind == "add":
            return self.shift(b, c, value)
        if kind == "mul":
            return self.scale(b, c, value)
        if kind == "div":
            raise ForbiddenOperation(f"division by an input-dependent tensor is not allowed: {ALLOWED_TEXT}")
        neg = self.scale(b, np.asarray(-1.0), -b.value.expand(self.batch, *feat))
        return self.shift(neg, c, value)

    def matmul(self, args: Any, value: torch.Tensor) -> Dep:
        x, w = args[0], args[1]
        if not isinstance(x, Dep) or isinstance(w, Dep):
            raise ForbiddenOperation(f"matmul must be input @ constant matrix: {ALLOWED_TEXT}")
        w = torch.as_tensor(w).detach().to(torch.float64).cpu().numpy()
        if w.ndim == 2:
            return self.emit(Op("linear", [x.idx], tuple(value.shape[1:]), weight=w.T.copy()), value)
        if w.ndim == 1:
            lin = self.emit(Op("linear", [x.idx], self.feat(x)[:-1] + (1,), weight=w[None, :]), value.unsqueeze(-1))
            return self.emit(Op("gather", [lin.idx], tuple(value.shape[1:]),
                                index=np.zeros(tuple(value.shape[1:]), dtype=np.int64)), value)
        raise ForbiddenOperation("matmul with a constant of more than two dimensions is not allowed")

    def sum_last(self, args: Any, kwargs: Any, value: torch.Tensor) -> Dep:
        """A sum over the last axis (`(h * w).sum(1)`): a linear map with weights 1."""
        _only("sum", kwargs, {"dim", "keepdim"})
        x = args[0]
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        keep = bool(args[2] if len(args) > 2 else kwargs.get("keepdim", False))
        dims = dim if isinstance(dim, (list, tuple)) else [dim]
        last = x.value.dim() - 1
        if not isinstance(x, Dep) or len(dims) != 1 or not isinstance(dims[0], int) or dims[0] % x.value.dim() != last \
                or last == 0:
            raise ForbiddenOperation("sum is allowed over the last axis only (e.g. h.sum(1) or h.sum(-1)): "
                                     f"{ALLOWED_TEXT}")
        feat = self.feat(x)
        k = feat[-1]
        ones = np.ones((1, k))
        if keep:
            return self.emit(Op("linear", [x.idx], feat[:-1] + (1,), weight=ones), value)
        lin = self.emit(Op("linear", [x.idx], feat[:-1] + (1,), weight=ones), value.unsqueeze(-1))
        index = np.arange(int(np.prod(feat[:-1], dtype=np.int64)), dtype=np.int64).reshape(feat[:-1])
        return self.emit(Op("gather", [lin.idx], tuple(value.shape[1:]), index=index), value)

    def refuse_batch_squeeze(self, node: fx.Node, args: Any, kwargs: Any) -> None:
        """squeeze() without a dimension, or of dimension 0, removes the batch axis when the
        network is called on one input, and every later op then sees its axes shifted: the
        network computes another function for a single input than for a batch.  Allowed only
        as the last step before the output, where it changes the shape and not the numbers."""
        if all(user.op == "output" for user in node.users):
            return
        dims = args[1] if len(args) > 1 else kwargs.get("dim")
        ndim = args[0].value.dim() if isinstance(args[0], Dep) else 0
        listed = dims if isinstance(dims, (tuple, list)) else (dims,)
        if dims is None or any(isinstance(d, int) and ndim and d % ndim == 0 for d in listed):
            raise BadShape("squeeze() without a dimension (or of dimension 0) also removes the batch "
                           "axis when the network is called on a single input, so it computes "
                           "something else there; name the axis, e.g. squeeze(1) or squeeze(-1)")

    def rearrange(self, node: fx.Node, args: Any, kwargs: Any, value: Any) -> Any:
        """Slicing, reshapes, concatenation: replay the op on tensors of element labels."""
        deps = _deps_in((args, kwargs))
        name = _name(node)
        if name == "getitem" and isinstance(args[0], DepSeq):
            return args[0].items[args[1]]
        sizes = [d.value[0].numel() for d in deps]
        per_batch = sum(sizes)
        labels: dict[int, torch.Tensor] = {}
        offset = 0
        for d, s in zip(deps, sizes):
            grid = (torch.arange(self.batch, dtype=torch.float64)[:, None] * per_batch + offset
                    + torch.arange(s, dtype=torch.float64)[None, :])
            labels[id(d)] = grid.reshape(d.value.shape)
            offset += s
        indexing = name in ("getitem", "index_select")
        if indexing and any(isinstance(o, (Dep, DepSeq)) for o in _flatten(args[1:])):
            raise ForbiddenOperation("indexing with an input-dependent index is not allowed")
        if not indexing and any(isinstance(o, torch.Tensor) for o in _flatten((args, kwargs))):
            raise ForbiddenOperation(f"{name} mixes input-dependent tensors with constant tensors")
        swap = lambda o: labels[id(o)] if isinstance(o, Dep) else o  # noqa: E731
        result = self.invoke(node, _walk(args, swap), _walk(kwargs, swap))
        values = value if isinstance(value, (list, tuple)) else [value]
        results = result if isinstance(result, (list, tuple)) else [result]
        made = []
        for r, v in zip(results, values):
            if not isinstance(r, torch.Tensor) or r.dim() == 0 or r.shape[0] != self.batch:
                raise BadShape(f"{name} changes the batch dimension")
            lab = r.reshape(self.batch, -1).to(torch.float64)
            row = torch.arange(self.batch, dtype=torch.float64)[:, None]
            local = lab - row * per_batch
            if bool(((local < 0) | (local >= per_batch)).any()) or not bool((local[0:1] == local).all()):
                raise BadShape(f"{name} mixes the examples of the batch")
            index = local[0].to(torch.int64).numpy().reshape(tuple(r.shape[1:]))
            made.append(self.emit(Op("gather", [d.idx for d in deps], tuple(r.shape[1:]), index=index), v))
        return DepSeq(made) if isinstance(value, (list, tuple)) else made[0]

def _fetch(module: nn.Module, target: str) -> Any:
    obj: Any = module
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def trace(module: nn.Module) -> fx.Graph:
    tracer = _Tracer()
    try:
        return tracer.trace(module)
    except fx.proxy.TraceError:
        raise InputControlFlow("your forward uses a Python if, for or while on the input (or "
                               "converts it with bool(), int() or float()); a network must compute "
                               "the same ops for every input", _traceback_place()) from None
    except CaptureError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the student's forward
        hint = " (numpy cannot be used inside forward)" if "array" in str(e) else ""
        if "not installed as a submodule" in str(e) or "not a member of this module" in str(e):
            hint = (" (every layer used in forward must be an attribute of the module, e.g. "
                    "self.layer = nn.Linear(...) in __init__)")
        first = (str(e).strip().splitlines() or [""])[0][:300]
        raise CaptureError(f"forward could not be traced: {type(e).__name__}: {first}{hint}",
                           _traceback_place()) from None


def _traceback_place() -> str:
    """The innermost student line of the exception being handled."""
    tb = sys.exc_info()[2]
    found = ""
    while tb is not None:
        fname = tb.tb_frame.f_code.co_filename
        if not fname.startswith((HERE, TORCH_DIR)) and "/fx/" not in fname:
            found = place(fname, tb.tb_lineno)
        tb = tb.tb_next
    return found


def sample_batch(arity: int, samples: list[list[float]] | None, dtype: torch.dtype) -> torch.Tensor:
    if not samples:
        samples = [[float(i - 3) * (j + 1) for j in range(arity)] for i in range(7)]
    return torch.tensor(samples, dtype=torch.float64).to(dtype)


def capture(module: Any, arity: int, samples: list[list[float]] | None = None) -> Network:
    """Describe `module` as plain data, or raise CaptureError saying what is not allowed.

    The description comes from replaying the traced graph; the module is then run for real on
    the same batch and every op on input-dependent values must match, constants and output
    bits included (fidelity.py), so the description is the network that runs."""
    if not isinstance(module, nn.Module):
        hint = (" (pass the function itself, check(lt10_relu), not its result)"
                if callable(module) else "")
        raise CaptureError(f"the function returned {type(module).__name__}, not a torch.nn.Module{hint}")
    size = sum(t.numel() for t in list(module.parameters()) + list(module.buffers()))
    if size > MAX_PARAMETERS:
        raise CaptureError(f"the network has {size:,} parameters, more than the {MAX_PARAMETERS:,} allowed")
    dtype = module_dtype(module)
    if dtype in (torch.float16, torch.bfloat16):
        raise NarrowFloat(f"the network's parameters are {str(dtype).replace('torch.', '')}: its "
                          "rounding is too coarse for exact answers; use float32 (the default) or "
                          "float64")
    if dtype not in WIDE_FLOATS:
        raise CaptureError(f"unsupported dtype {dtype}")
    refuse_hidden_behaviour(module)
    graph = trace(module)
    x = sample_batch(arity, samples, dtype)
    builder = _Builder(module, x.clone())
    try:
        with torch.no_grad():
            traced = OpRecorder(builder.x, lambda: builder.where)
            builder.recorder = traced
            net = builder.run(graph)
        with torch.enable_grad():  # the real run in the other grad mode: the sweep runs without grad
            with OpRecorder(x, student_place) as ran:
                module(x)
    except CaptureError:
        raise
    except Exception as e:  # noqa: BLE001
        first = (str(e).strip().splitlines() or [""])[0][:300]
        raise CaptureError(f"forward failed on a batch of shape {tuple(x.shape)}: "
                           f"{type(e).__name__}: {first}", _traceback_place()) from None
    if ran.random is not None:
        raise ForbiddenOperation(f"{ran.random[0]} draws random numbers: a network must compute the same "
                                 "function at every call", ran.random[1])
    compare_runs(traced.calls, ran.calls)
    _same_for_one_input(module, graph, x, net, builder.made_at)
    return net


def _same_for_one_input(module: nn.Module, graph: fx.Graph, x: torch.Tensor, net: Network,
                        made_at: dict[int, str]) -> None:
    """Replay the graph on a batch of one: the description must not depend on the batch size
    (a network that reads x.shape[0] or len(x) computes another function for a single input).
    A replay that cannot run on one input is refused when forward reads a size (it may have
    turned the batch size into axes: a permute or squeeze that differs on one input); otherwise
    the only cause is a squeeze() as the last step, and the single-input runs of the sweep decide."""
    try:
        with torch.no_grad():
            one = _Builder(module, x[:1].clone()).run(graph)
    except Exception:  # noqa: BLE001 - e.g. a final squeeze() gives a 0-dim output on a batch of one
        if _reads_a_size(graph):
            raise HiddenBehaviour("forward reads a size (x.shape, x.size(), x.numel(), ...) and does not run "
                                  "on a single input the way it runs on a batch; read only the feature "
                                  "axes (x.shape[1], x.size(-1)) and never use the batch size") from None
        return
    ours, theirs = one.to_json()["ops"], net.to_json()["ops"]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if json.dumps(a) != json.dumps(b)]  # NaN == NaN
    if differ or len(ours) != len(theirs):
        where = made_at.get(differ[0] if differ else min(len(ours), len(theirs)), "")
        raise HiddenBehaviour("its description changes with the batch size: on one input it computes "
                              "something else than on several (does forward read x.shape[0], len(x) "
                              "or x.size(0) in arithmetic?)", where)


def _reads_a_size(graph: fx.Graph) -> bool:
    """Does forward read a size of a tensor (x.shape, x.size(), x.numel(), x.dim(), ...)?"""
    for node in graph.nodes:
        if node.op == "call_method" and str(node.target) in SHAPE_QUERIES:
            return True
        if node.op == "call_function" and (
                (node.target is getattr and len(node.args) > 1 and node.args[1] in ("shape", "ndim"))
                or getattr(node.target, "__name__", "") in SHAPE_QUERIES | {"_shape_as_tensor", "sym_size"}):
            return True
    return False


def forward_outputs(module: nn.Module, arity: int, samples: list[list[float]]) -> list[float]:
    """The candidate's own forward pass on `samples`, in its own dtype, as plain floats."""
    x = sample_batch(arity, samples, module_dtype(module))
    with torch.no_grad():
        y = module(x)
    return [float(v) for v in y.reshape(len(samples)).to(torch.float64).tolist()]

