"""PyTorch's own functions, and the student's module, as they were before anything could change them.

Two snapshots of PyTorch, both taken when the grader is imported: before any student code in
the jailed child (the launcher imports the grader first), and in a notebook before `check`
first runs.
- By identity (`is_own_function`, `is_own_method`): the capture names an op by what its
  function is called, so it must first know that the function *is* PyTorch's (or Python's
  operator's).  A student's function named `relu` and traced as one step (`torch.fx.wrap`), or
  a method added to `torch.Tensor` under an allowed name, would otherwise be described as the
  op its name promises while running something else.
- By place (`refuse_replaced`): `torch.relu`, `torch.Tensor.__add__`, `nn.Linear.forward` and
  the other names the capture relies on must still hold the objects they held.

It also fingerprints a module's state, so that a network whose forward pass changes its own
attributes or the globals it reads (a call counter, a cache) is refused: the verdict is about
one function, not about the calls the grader happened to make.
"""

from __future__ import annotations

import builtins
import collections
import hashlib
import operator
import os
import random
import re
import types
from functools import cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .refusals import HiddenBehaviour


def _homes() -> list[Any]:
    return [torch, F, operator, builtins, torch._C._nn, torch._C._VariableFunctions]


TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the whole package
STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))


@cache
def is_grader_file(fname: str) -> bool:
    """Is this source file the grader's, torch's or the standard library's (not a notebook's)?
    Names in angle brackets are code without a file: a notebook's cell, or frozen stdlib."""
    if fname.startswith("<"):
        return fname.startswith("<frozen ")
    return os.path.abspath(fname).startswith((HERE, TORCH_DIR, STDLIB_DIR))
C_CALLABLES = (types.BuiltinFunctionType, types.BuiltinMethodType, types.MethodDescriptorType,
               types.WrapperDescriptorType, types.MethodWrapperType, types.ClassMethodDescriptorType,
               types.GetSetDescriptorType, types.MemberDescriptorType)


def _made_by_torch(value: Any) -> bool:
    """Implemented in C, or in a Python file of torch itself: not a function a notebook defined
    and slipped into torch's namespace before the grader was imported."""
    if isinstance(value, (staticmethod, classmethod, types.MethodType)):
        value = value.__func__
    if isinstance(value, types.FunctionType):
        return os.path.abspath(value.__code__.co_filename).startswith(TORCH_DIR)
    if isinstance(value, property):
        return all(f is None or _made_by_torch(f) for f in (value.fget, value.fset, value.fdel))
    if isinstance(value, type):
        return value.__module__.split(".")[0] in ("torch", "builtins")
    return isinstance(value, C_CALLABLES) or type(value).__module__.split(".")[0] == "torch"


def _tensor_methods() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in dir(torch.Tensor):
        try:
            value = getattr(torch.Tensor, name)
            if getattr(torch.Tensor, name) is value and _made_by_torch(value):  # stable, and torch's
                found[name] = value
        except Exception:  # noqa: BLE001 - an attribute that cannot load is not a method anyone calls
            continue
    return found


TENSOR_METHODS: dict[str, Any] = _tensor_methods()
_KEEP: list[Any] = [v for home in _homes() for v in getattr(home, "__dict__", {}).values() if callable(v)]
_KEEP += [getattr(torch._C._VariableFunctions, n) for n in dir(torch._C._VariableFunctions) if not n.startswith("__")]
_KEEP = [v for v in _KEEP if _made_by_torch(v) or getattr(v, "__module__", "") in ("operator", "_operator", "builtins")]
_KEEP += list(TENSOR_METHODS.values())
OWN: frozenset[int] = frozenset(id(v) for v in _KEEP)  # ids stay valid: _KEEP holds the objects


def is_own_function(target: Any) -> bool:
    """True for a function PyTorch or Python's operator module defined (as at import)."""
    return id(target) in OWN


def is_own_method(name: str) -> bool:
    """True when `torch.Tensor.<name>` exists and is still PyTorch's own."""
    return name in TENSOR_METHODS and getattr(torch.Tensor, name, None) is TENSOR_METHODS[name]


# The torch functions a captured network is made of (capture.py's vocabulary and its refusals).
# Only these are watched: torch itself rebinds some other attributes lazily (torch._dynamo wraps
# torch.manual_seed when it is first imported, for one), which is nobody's trick.
_WATCHED = (
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg", "negative",
    "relu", "relu_", "sigmoid", "sigmoid_", "clamp", "clip", "clamp_min", "clamp_", "matmul", "mm",
    "cat", "concat", "concatenate", "stack", "hstack", "unbind", "split", "chunk", "reshape",
    "flatten", "squeeze", "unsqueeze", "permute", "transpose", "t", "narrow", "select", "movedim",
    "moveaxis", "swapaxes", "swapdims", "flip", "roll", "tile", "index_select", "unflatten",
    "remainder", "fmod", "abs", "absolute", "sign", "round", "floor", "ceil", "trunc", "floor_divide",
    "min", "max", "minimum", "maximum", "amin", "amax", "where", "fmin", "fmax", "heaviside",
    "lt", "gt", "le", "ge", "eq", "ne", "linear", "rsub", "tensor", "as_tensor", "zeros", "ones",
    "zeros_like", "ones_like", "full", "arange",
)


def _snapshot() -> dict[str, Any]:
    """The torch functions, tensor methods and operators, and the module machinery the
    capture relies on, by where they live, as they were when the grader's package was imported."""
    found: dict[str, Any] = {}
    tensor_names = [n for n in dir(torch.Tensor) if n.startswith("__")] + list(_WATCHED) + [
        "view", "view_as", "reshape_as", "expand", "expand_as", "repeat", "contiguous", "clone",
        "detach", "float", "double", "half", "bfloat16", "to", "type", "type_as", "size", "dim",
        "numel", "item", "tolist", "numpy", "add_", "sub_", "mul_", "div_"]
    groups = (("torch", torch, _WATCHED), ("torch.nn.functional", F, [n for n in dir(F) if not n.startswith("_")]),
              ("torch.Tensor", torch.Tensor, tensor_names), ("nn.Module", nn.Module, dir(nn.Module)))
    for prefix, owner, names in groups:
        for name in names:
            try:
                value = getattr(owner, name)
                stable = getattr(owner, name) is value  # __dict__ and the like are made anew
            except Exception:  # noqa: BLE001 - a lazy attribute that cannot load is not ours to judge
                continue
            if stable and not isinstance(value, (str, int, float, bool, type(None))):
                found[f"{prefix}.{name}"] = value
    for cls in (nn.Linear, nn.ReLU, nn.Sigmoid, nn.Sequential, nn.Identity, nn.Flatten):
        found[f"nn.{cls.__name__}.forward"] = cls.forward
    return found


_PRISTINE: dict[str, Any] = _snapshot()


_ROOTS = {"torch": torch, "torch.nn.functional": F, "torch.Tensor": torch.Tensor, "nn.Module": nn.Module}
# (path, owner object or None, nn class name, attribute, original), resolved once: the check
# runs before every capture.  A layer class (nn.Linear) is looked up again each time, so that
# replacing the class itself is seen too.
_CHECKS: list[tuple[str, Any, str, str, Any]] = [
    (path, _ROOTS.get(path.rpartition(".")[0]), path.split(".")[1], path.rpartition(".")[2], value)
    for path, value in _PRISTINE.items()]


def refuse_replaced() -> None:
    """Refuse when anything the capture relies on no longer is what it was at import (a torch
    function, a tensor method or operator, the module machinery, a layer's forward)."""
    for path, root, cls_name, attr, original in _CHECKS:
        if getattr(root if root is not None else getattr(nn, cls_name, None), attr, None) is not original:
            raise HiddenBehaviour(f"{path} has been replaced; the grader only trusts PyTorch's own")


PLAIN = (int, float, complex, str, bytes, bool, type(None))
TRACER_CONSTANT = re.compile(r"the network: attribute '_tensor_constant\d+'$")


DEPTH = 200  # nesting a state may have (beyond it the network is refused, not half watched)
BUDGET = 200_000  # objects a network's state may hold (the same)
WHOLE_TENSOR = 1 << 22  # tensors up to this many elements are watched by content, larger by version


class StateTooLarge(Exception):
    """More state is reachable from a network than the grader watches."""


def _fingerprint(value: Any, depth: int = 0, left: list[int] | None = None) -> Any:
    """What a value is, deeply enough to notice a counter, a flag, a list that grows, a tensor
    or numpy array changed (in place or through .data), an iterator or random generator that
    advanced, or an object whose attributes changed.  Raises StateTooLarge past DEPTH levels or
    BUDGET objects: a counter must not hide behind depth or bulk."""
    left = left if left is not None else [BUDGET]
    left[0] -= 1
    if left[0] < 0 or depth > DEPTH:
        raise StateTooLarge()
    deeper = lambda v: _fingerprint(v, depth + 1, left)  # noqa: E731
    if isinstance(value, PLAIN):
        return (type(value).__name__, value)
    if isinstance(value, torch.Tensor):
        return ("tensor", id(value), value._version, _tensor_digest(value))
    if isinstance(value, np.ndarray):
        data = value.tobytes() if value.dtype != object else repr(value.tolist()).encode()
        return ("ndarray", id(value), str(value.dtype), value.shape, hashlib.sha1(data).hexdigest())
    if isinstance(value, random.Random):
        return ("random", id(value), deeper(value.getstate()))
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        state = value.bit_generator.state if isinstance(value, np.random.Generator) else value.get_state(legacy=False)
        return ("random", id(value), repr(state))
    if isinstance(value, nn.Module):
        return ("object", id(value), type(value).__name__)
    if isinstance(value, (list, tuple, set, frozenset, collections.deque)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return (type(value).__name__, tuple(deeper(v) for v in items))
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), deeper(v)) for k, v in value.items()))
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type,
                          types.ModuleType)):
        return ("object", id(value), type(value).__name__)
    if isinstance(value, torch.Generator):  # (after the common cases: this check is slow)
        return ("generator", id(value), hashlib.sha1(value.get_state().numpy().tobytes()).hexdigest())
    if isinstance(value, types.GeneratorType):  # a counter kept in a generator's locals
        frame = value.gi_frame
        where = None if frame is None else (frame.f_lasti, deeper(dict(frame.f_locals)))
        return ("generator", id(value), where)
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):  # an object of the notebook's: its attributes
        return ("object", id(value), type(value).__name__, deeper(dict(attrs)))
    return ("object", id(value), type(value).__name__, _opaque_state(value, depth, left))


def _tensor_digest(t: torch.Tensor) -> str:
    """A digest of a tensor's contents (its version counter misses writes through .data or
    .numpy()); very large tensors are watched by version only."""
    if t.numel() > WHOLE_TENSOR or t.is_sparse or t.device.type != "cpu":
        return ""
    try:
        raw = t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    except (RuntimeError, TypeError):
        return repr(t.detach().tolist())[:10_000]
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _opaque_state(value: Any, depth: int, left: list[int]) -> Any:
    """An object without attributes (itertools.count, an iterator, array.array): what pickling
    would save of it, else its repr (count(5) after four calls of next)."""
    try:
        reduced = value.__reduce_ex__(4)
        if isinstance(reduced, tuple):
            return _fingerprint(tuple(r for r in reduced[1:] if not callable(r)), depth + 1, left)
    except StateTooLarge:
        raise
    except Exception:  # noqa: BLE001 - not picklable: its repr is what can be seen
        pass
    try:
        return repr(value)[:500]
    except Exception:  # noqa: BLE001
        return None


def _not_ours(obj: Any) -> bool:
    """Code a notebook wrote (not torch's, not the standard library's, not this package's)."""
    code = getattr(obj, "__code__", None)
    return code is not None and not is_grader_file(code.co_filename)


def _codes(code: types.CodeType) -> list[types.CodeType]:
    """A code object and the code of the functions, lambdas and comprehensions inside it."""
    return [code] + [c for k in code.co_consts if isinstance(k, types.CodeType) for c in _codes(k)]


def _function_state(fn: Any, label: str, state: dict[str, Any], seen: set[int]) -> None:
    """What a function of the notebook's can keep between calls: the globals it reads, its
    closure cells and its default arguments; and the same of the functions it calls."""
    fn = getattr(fn, "__func__", fn)
    if id(fn) in seen or not _not_ours(fn):
        return
    seen.add(id(fn))
    glob = getattr(fn, "__globals__", {})
    for code in _codes(fn.__code__):
        for g in code.co_names:
            if g not in glob:
                continue
            value = glob[g]
            if isinstance(value, types.ModuleType):  # a counter kept on a module: torch.calls += 1
                for attr in code.co_names:
                    held = getattr(value, attr, None) if attr in vars(value) else None
                    if held is not None and not callable(held) and not isinstance(held, types.ModuleType):
                        state[f"{g}.{attr}"] = _fingerprint(held)
                continue
            if _not_ours(value) or isinstance(value, type):
                _callable_state(value, f"the global {g!r}", state, seen)
            elif not callable(value):
                state[f"the global {g!r}"] = _fingerprint(value)
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _not_ours(value):
            _callable_state(value, f"{label}: closure {name!r}", state, seen)
        else:
            state[f"{label}: closure {name!r}"] = _fingerprint(value)
    state[f"{label}: default arguments"] = _fingerprint((fn.__defaults__, fn.__kwdefaults__))


def _callable_state(obj: Any, label: str, state: dict[str, Any], seen: set[int]) -> None:
    if isinstance(obj, type):
        _class_state(obj, state, seen)
    else:
        _function_state(obj, label, state, seen)


def _class_state(cls: type, state: dict[str, Any], seen: set[int]) -> None:
    """Class attributes of a notebook's class (a counter kept on the class), and its methods."""
    if id(cls) in seen:
        return
    seen.add(id(cls))
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] in ("torch", "builtins"):
            continue
        for attr, value in vars(klass).items():
            if attr.startswith("__") and attr.endswith("__"):
                continue
            if _not_ours(value) or isinstance(value, (staticmethod, classmethod)):
                _function_state(value, f"{klass.__name__}.{attr}", state, seen)
            elif not callable(value) and not isinstance(value, (property, types.MemberDescriptorType)):
                state[f"the class attribute {klass.__name__}.{attr}"] = _fingerprint(value)


def module_state(module: nn.Module) -> dict[str, Any]:
    """Everything running the network could change and read again: every attribute of every
    submodule (parameters and buffers with their in-place version counters), the class
    attributes of their classes, and what the notebook's functions they call keep between
    calls (globals read, closure cells, default arguments), followed through helper calls."""
    state: dict[str, Any] = {"random number generators": _global_random()}
    seen: set[int] = set()
    try:
        for name, sub in module.named_modules():
            label = f"layer '{name}'" if name else "the network"
            for attr, value in vars(sub).items():
                state[f"{label}: attribute {attr!r}"] = _fingerprint(value)
            _class_state(type(sub), state, seen)
    except (StateTooLarge, RecursionError):
        raise HiddenBehaviour(f"the network holds more state than the grader watches (nested over {DEPTH} levels "
                              f"deep, or over {BUDGET:,} objects); keep only its layers and constants") from None
    return state


def _global_random() -> str:
    """The state of the random number generators every notebook shares (Python's, numpy's,
    torch's): a network that draws from them is another function at every call."""
    digest = hashlib.sha1(repr(random.getstate()).encode())
    legacy = np.random.get_state()  # (name, key array, position, has_gauss, cached gaussian)
    digest.update(legacy[1].tobytes() + repr(legacy[2:]).encode())
    digest.update(torch.get_rng_state().numpy().tobytes())
    return digest.hexdigest()


def refuse_changed_state(before: dict[str, Any], module: nn.Module) -> None:
    """Refuse a module whose state changed while the grader ran it."""
    after = module_state(module)
    for key in sorted(set(before) | set(after)):
        if key not in before and TRACER_CONSTANT.search(key):
            continue  # torch.fx stores the tensors forward makes as attributes of the module it traces
        if before.get(key) != after.get(key):
            if key == "random number generators":
                raise HiddenBehaviour("running the network drew random numbers (Python's random, numpy's or "
                                      "torch's generator): a network must compute the same function every time")
            raise HiddenBehaviour(f"running the network changed {key}; a network must compute the same "
                                  "function every time it is called (no counters, caches or state)")
