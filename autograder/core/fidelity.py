"""Is the network that was described the network that runs?

The capture describes a module by tracing its `forward` with torch.fx.  Tracing and running
are not the same thing: hooks run only when a module is called, an overridden `__call__` or
an instance attribute `forward` replace what is traced, `x -= 1` traces as a new value but
runs in place, and a forward may branch on `is_fx_tracing()`.  Three lines of defence, all in
the student's process (the grader later checks only plain data):

1. `refuse_hidden_behaviour`: what can be refused by name (hooks, `__call__` overrides,
   replaced torch functions, tensor subclasses).
2. `OpRecorder`: the ops that touch input-dependent tensors, with their constant operands and
   their outputs, recorded once while the traced graph is replayed and once while the module
   really runs; any difference is refused, naming the line.
3. `forward_sweep`: the module's own forward pass, in its own dtype, in batches, on every
   enumerable graded input (and on sampled points of the huge ones), compared with the target.
   A network passes only if its exact function is right *and* its own forward pass classifies
   every swept input right (docs/theory.md §5).
"""

from __future__ import annotations

import os
import random
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .evaluate import float_forward
from .network import Network
from .normal import UnitNet, normal_form
from .pristine import is_grader_file, refuse_replaced
from .refusals import HiddenBehaviour, InPlaceMutation
from .riddles import Domain, Riddle
from .sweep_points import breakpoints, enumerated, sampled_points

_PLAIN_TENSORS = (nn.Parameter, torch.Tensor) + ((nn.parameter.Buffer,) if hasattr(nn.parameter, "Buffer") else ())
_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks")


def refuse_hidden_behaviour(module: nn.Module) -> None:
    """Refuse, by name, what would make running differ from the traced description."""
    from torch.nn.modules import module as module_mod

    kind = type(module)
    if isinstance(module, torch.jit.ScriptModule) or (kind.__name__ == "OptimizedModule"
                                                      and kind.__module__.startswith("torch.")):
        raise HiddenBehaviour("a compiled (torch.compile) or scripted (torch.jit) module cannot be read "
                              "op by op; return the plain nn.Module itself")
    refuse_replaced()
    if any(getattr(module_mod, name, None) for name in _GLOBAL_HOOKS):
        raise HiddenBehaviour("a global module hook is registered (register_module_forward_hook "
                              "or similar); remove it: hooks change what the network computes")
    for name, sub in module.named_modules():
        label = f"layer '{name}'" if name else "the network"
        for hooks in _HOOK_DICTS:
            if getattr(sub, hooks, None):
                raise HiddenBehaviour(f"{label} has a {hooks.strip('_').replace('_', ' ')[:-1]} "
                                      "registered; hooks change what the network computes, so they "
                                      "are not allowed")
        for attr in ("__call__", "_call_impl"):
            if getattr(type(sub), attr) is not getattr(nn.Module, attr):
                raise HiddenBehaviour(f"{label} ({type(sub).__name__}) overrides {attr}; only "
                                      "forward may define what a module computes")
        if "forward" in vars(sub) or "__call__" in vars(sub):
            raise HiddenBehaviour(f"{label} has forward assigned on the instance; define forward "
                                  "in the class instead")
        for pname, t in list(sub.named_parameters(recurse=False)) + list(sub.named_buffers(recurse=False)):
            if type(t) not in _PLAIN_TENSORS:
                raise HiddenBehaviour(f"{label}.{pname} is a {type(t).__name__}, a tensor subclass "
                                      "that can change what operations do")


def module_dtype(module: nn.Module) -> torch.dtype:
    """The float type the module computes in: that of its first floating parameter or buffer."""
    for t in list(module.parameters()) + list(module.buffers()):
        if t.is_floating_point():
            return t.dtype
    return torch.float32


@lru_cache(maxsize=4096)
def place(fname: str, line: int | str) -> str:
    """A student's place in words: 'cell 4, line 12' for notebook code, else 'line 12 of f.py'."""
    m = re.fullmatch(r"<cell (\d+)>", fname)
    if m:
        return f"cell {m.group(1)}, line {line}"
    try:  # a Jupyter kernel names each cell's code after a hash; IPython knows its number
        ipython = sys.modules.get("IPython")  # a kernel has loaded it; elsewhere there are no cells
        ip = ipython.get_ipython() if ipython is not None else None
        count = ip.compile._filename_map.get(fname) if ip is not None else None  # type: ignore[union-attr]
        if count is not None:
            return f"cell [{count}], line {line}"
    except Exception:  # noqa: BLE001 - no IPython, or a different one: fall back to the file
        pass
    return f"line {line} of {fname if fname.startswith('<') else os.path.basename(fname)}"


def student_place() -> str:
    """The innermost line of the student's code on the current Python stack."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        if not is_grader_file(fname):
            return place(fname, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return ""


@dataclass
class Call:
    """One recorded op on input-dependent values: the function, its constants, its outputs."""

    func: Any
    consts: list[Any]
    outputs: list[torch.Tensor]
    where: str

    @property
    def name(self) -> str:
        return getattr(self.func, "__name__", None) or str(self.func)[:60]

    @property
    def in_place(self) -> bool:
        """torch's naming: add_, relu_ (and the operators +=, -= as __iadd__, __isub__)."""
        n = self.name
        return (n.endswith("_") and not n.startswith("__")) or (n.startswith("__i") and n.endswith("__"))

    @property
    def key(self) -> tuple[str, str, int]:
        """The same function in both runs (bound method wrappers are fresh objects each time)."""
        f = self.func
        return (type(f).__name__, getattr(f, "__qualname__", "") or self.name, id(getattr(f, "__self__", f)))

    def same_as(self, other: Call) -> bool:
        if self.key != other.key or len(self.consts) != len(other.consts):
            return False
        for a, b in zip(self.consts, other.consts):
            if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
                if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or not _same(a, b):
                    return False
            elif a != b:
                return False
        return len(self.outputs) == len(other.outputs) and all(
            _same(a, b) for a, b in zip(self.outputs, other.outputs))


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-for-bit equal, NaN where NaN."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if torch.equal(a, b):  # the common case, in one call (False where either holds a NaN)
        return True
    if not a.is_floating_point():
        return bool(torch.equal(a, b))
    return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())


def _flat(obj: Any) -> list[Any]:
    if type(obj) is tuple and not any(isinstance(o, (list, tuple, dict)) for o in obj):
        return list(obj)  # the common case: a flat tuple of arguments
    if isinstance(obj, (list, tuple)):
        return [x for o in obj for x in _flat(o)]
    if isinstance(obj, dict):
        return [x for o in obj.values() for x in _flat(o)]
    return [obj]


RANDOM = frozenset({
    "rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm", "bernoulli", "normal",
    "multinomial", "poisson", "uniform_", "normal_", "random_", "exponential_", "geometric_", "cauchy_",
    "log_normal_", "bernoulli_", "dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d",
    "dropout3d", "rrelu", "rrelu_", "native_dropout"})
"""torch's functions that draw random numbers: a network that draws them is another function
at every call (torch.fx runs them once, while tracing, and keeps the numbers as constants)."""


class OpRecorder(TorchFunctionMode):
    """Records every torch call that reads an input-dependent tensor (the input, or the output
    of an earlier recorded call), with its constant operands and a copy of its outputs.  It
    may be entered many times: the replay enters it around each node's own op only, so the
    capture's bookkeeping is neither recorded nor slowed down."""

    def __init__(self, x: torch.Tensor, where: Callable[[], str]) -> None:
        super().__init__()
        self.live: dict[int, torch.Tensor] = {id(x): x}
        self.calls: list[Call] = []
        self.where = where
        self.random: tuple[str, str] | None = None  # the first random draw seen, and where

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in RANDOM and self.random is None:  # noted, not raised: forward could catch it
            self.random = (name, self.where())
        out = func(*args, **kwargs)
        flat = _flat(args) + _flat(kwargs) if kwargs else _flat(args)
        if not any(isinstance(a, torch.Tensor) and id(a) in self.live for a in flat):
            return out
        consts = [a for a in flat if not (isinstance(a, torch.Tensor) and id(a) in self.live)]
        consts = [a.detach().clone() if isinstance(a, torch.Tensor) else _plain(a) for a in consts]
        outs = [o for o in _flat(out) if isinstance(o, torch.Tensor)]
        for o in outs:
            self.live[id(o)] = o
        self.calls.append(Call(func, consts, [o.detach().clone() for o in outs], self.where()))
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, (int, float, bool, str, type(None), torch.dtype, torch.Size, slice)):
        return v if not isinstance(v, float) else (repr(v),)
    return repr(v)[:200]


def compare_runs(traced: list[Call], ran: list[Call]) -> None:
    """Refuse when the forward that runs did something the traced replay did not."""
    for i in range(max(len(traced), len(ran))):
        a = traced[i] if i < len(traced) else None
        b = ran[i] if i < len(ran) else None
        if a is not None and b is not None and a.same_as(b):
            continue
        where = (b.where if b is not None else "") or (a.where if a is not None else "")
        if b is not None and b.in_place and (a is None or a.key != b.key):
            raise InPlaceMutation(f"{b.name} changes a value in place, which tracing does not see; "
                                  "write a new value instead (h = h - 1, not h -= 1)", where)
        if a is None or b is None:
            extra = b if b is not None else a
            raise HiddenBehaviour(
                f"the forward pass that runs {'calls' if b is not None else 'skips'} {extra.name} "  # type: ignore[union-attr]
                "where the traced one does not; a network must compute the same way whether it is "
                "traced or run (no is_fx_tracing() branches, no hooks)", where)
        what = "calls" if a.key != b.key else "computes differently in"
        raise HiddenBehaviour(
            f"the forward pass that runs {what} {b.name} (traced: {a.name}); a network must "
            "compute the same way whether it is traced or run (no is_fx_tracing() branches, no "
            "hooks, no state that changes between calls)", where)


# ---- the forward-pass sweep ------------------------------------------------------------------
SWEEP_FLOATS = 1 << 20  # floats of the widest value in one batch: batches that stay in cache
SWEEP_ROWS = 1 << 16
SAMPLE_PER = 1 << 16  # rows of a batch per 1,024 compared with the description
SHOW = 5
MANTISSA = {torch.float32: 24, torch.float64: 53}


def forward_sweep(module: nn.Module, riddle: Riddle, net: Network) -> list[dict[str, Any]]:
    """The module's own forward pass on the graded inputs, compared with the target.

    One entry per domain: how many inputs ran, how many were classified wrong (more than 1/2
    from the target for exact riddles, beyond the tolerance for the sigmoid riddle), a few
    examples, and a note where inputs could not run because the dtype cannot hold them."""
    dtype = module_dtype(module)
    rows = min(SWEEP_ROWS, max(256, SWEEP_FLOATS // max(1, max(op.size for op in net.ops))))
    sampled = any(d.method != "enumeration" for d in riddle.domains)
    whole = normal_form(net, prune=False) if sampled and net.arity == 1 and riddle.runs is not None else None
    entries = [_sweep_domain(module, riddle, net, d, dtype, rows, whole) for d in riddle.domains]
    other = _other_dtype(module, riddle.arity, dtype)
    if other is not None:  # no weight fixes its float type: the caller's input does
        for d, entry in zip(riddle.domains, entries):
            more = _sweep_domain(module, riddle, net, d, other, rows, whole, against_description=False)
            entry["other_dtype"] = {"dtype": str(other).replace("torch.", ""), "wrong": more["wrong"],
                                    "examples": more["examples"]}
    return entries


def _other_dtype(module: nn.Module, arity: int, dtype: torch.dtype) -> torch.dtype | None:
    """The other wide float type, when the module also runs on inputs of that type (a network
    without float weights computes in the type of its input, which the caller chooses)."""
    other = torch.float64 if dtype == torch.float32 else torch.float32
    try:
        with torch.no_grad():
            module(torch.zeros((1, arity), dtype=other))
    except Exception:  # noqa: BLE001 - the usual case: its weights have one type
        return None
    return other


@contextmanager
def threads(count: int) -> Iterator[None]:
    """Run the student's module with `count` torch threads.  Every front end runs it with one:
    the fastest for tiny ops on many rows, polite to neighbours, the same everywhere (one
    notebook, one score), and safe in a forked jail, where starting a thread pool can hang."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sweep_domain(module: nn.Module, riddle: Riddle, net: Network, d: Domain, dtype: torch.dtype,
                  rows: int, line_net: UnitNet | None = None, against_description: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {"domain": d.name, "points": 0, "wrong": 0, "examples": [], "note": ""}
    if d.method == "enumeration":
        batches: Iterator[list[np.ndarray]] = enumerated(d, rows)
    else:
        pts = sampled_points(d, MANTISSA[dtype], breakpoints(net, riddle, d, line_net))
        batches = ([np.array(pts[i:i + rows], dtype=object)] for i in range(0, len(pts), rows))
        name = str(dtype).replace("torch.", "")
        why = (f"integers above 2^{MANTISSA[dtype]} are not all {name} values, so it ran on "
               if d.hi > 2 ** MANTISSA[dtype] else "it is too large to run whole, so it ran on ")
        entry["note"] = (f"the {name} forward pass could not run on all of {d.describe()}: "
                         f"{why}{len(pts):,} chosen inputs (both ends, each power of two, the "
                         "breakpoints of its units and their neighbours, seeded random inputs)")
    compared: list[tuple[np.ndarray, np.ndarray]] = []
    for cols in batches:
        compared.append(_sweep_batch(module, riddle, net, cols, dtype, entry))
    # Against the description once per domain, on the rows each batch set aside.
    if compared and against_description:
        _agrees_with_description(net, np.concatenate([p for p, _ in compared]),
                                 np.concatenate([y for _, y in compared]))
    return entry


def _agrees_with_description(net: Network, pts: np.ndarray, ys: np.ndarray) -> None:
    """The module's outputs must be what the captured description computes in the same float
    type: a network that runs differently under another batch size, grad mode, thread count
    or call count than when it was captured is refused."""
    ours, tol = float_forward(net, pts.astype(np.float64))
    with np.errstate(invalid="ignore"):
        bad = ~((ours == ys) | (np.abs(ours - ys) <= tol) | (np.isnan(ours) & np.isnan(ys)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        x = ", ".join(str(int(v)) for v in pts[i])
        raise HiddenBehaviour(f"run on f({x}) it outputs {float(ys[i])!r}, but the network that was "
                              f"captured outputs {float(ours[i])!r}: it computes differently depending "
                              "on how it is called (batch size, grad mode, threads, or how often)")


def single_rows(module: nn.Module, riddle: Riddle, net: Network, sweep: list[dict[str, Any]] | None = None,
                count: int = 8) -> None:
    """Run a few inputs one at a time, as a student calls the network: both ends of the public
    domain and seeded random inputs in it, each coordinate drawn on its own.  Each one runs as
    a batch of one in turn without grad, with grad and in inference mode, and once more without
    the batch axis (shape (arity,)) when the network accepts that.  Every run must agree with
    the description and give the right answer: a float pass can round differently for one
    input than in the sweep's large batches (another summation order), and a forward can read
    the grad or inference mode.  (The answers are not checked when the `sweep` already found
    wrong inputs: the network fails there, with its counterexamples.)"""
    d, dtype = riddle.domains[0], module_dtype(module)
    hi = min(d.hi, d.lo + 2 ** MANTISSA[dtype])  # inputs the module's dtype holds exactly
    rng = random.Random(0)
    picks = [[d.lo] * d.arity, [hi] * d.arity]
    picks += [[rng.randint(d.lo, hi) for _ in range(d.arity)] for _ in range(max(0, count - 2))]
    pts = np.array(picks[:count], dtype=np.float64)
    rows, ys = [], []
    for k in range(len(pts)):
        x = torch.from_numpy(pts[k:k + 1]).to(dtype)
        with CALL_MODES[k % len(CALL_MODES)]():
            y = module(x)
        if not isinstance(y, torch.Tensor) or y.numel() != 1:
            raise HiddenBehaviour("called on a single input, the network returns something else "
                                  "than one number")
        rows.append(k)
        ys.append(float(y.detach().reshape(-1).to(torch.float64)[0]))
        unbatched = _unbatched(module, x[0])
        if unbatched is not None:
            rows.append(k)
            ys.append(unbatched)
    at = pts[rows]
    _agrees_with_description(net, at, np.array(ys))  # every run against the description at once
    if not any(entry.get("wrong") for entry in sweep or []):
        _right_alone(riddle, at, np.array(ys))


CALL_MODES = (torch.no_grad, torch.enable_grad, torch.inference_mode)


def _unbatched(module: nn.Module, x: torch.Tensor) -> float | None:
    """The output for one input without the batch axis (net(torch.tensor([3.]))), or None when
    the network does not run on that shape (the documented call is a batch)."""
    try:
        with torch.no_grad():
            y = module(x)
    except Exception:  # noqa: BLE001 - a network may require the batch axis
        return None
    if not isinstance(y, torch.Tensor) or y.numel() != 1:
        return None
    return float(y.detach().reshape(-1).to(torch.float64)[0])


def _right_alone(riddle: Riddle, pts: np.ndarray, ys: np.ndarray) -> None:
    """Each single-input run must classify its input right, as the sweep's batches must."""
    cols = [pts[:, k].astype(np.int64) for k in range(pts.shape[1])]
    want = np.asarray(riddle.target(*cols), dtype=np.float64)
    err = np.abs(ys - want)
    ok = err <= float(riddle.tolerance) if riddle.rule == "tolerance" and riddle.tolerance is not None else err < 0.5
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        x = ", ".join(str(int(v)) for v in pts[i])
        raise HiddenBehaviour(f"run on f({x}) alone it outputs {float(ys[i])!r}, but the answer is "
                              f"{float(want[i]):g}, while its batched runs were right: its float rounding "
                              "depends on how it is called (large weights that cancel?)")


def _sweep_batch(module: nn.Module, riddle: Riddle, net: Network, cols: list[np.ndarray],
                 dtype: torch.dtype, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """One batched call of the module on the points whose coordinates are `cols`, and the
    count of the points it classifies wrong.  The integers are cast straight into the
    module's dtype (they are all values of it: enumerable domains are small, sampled points
    are chosen representable), and compared with the exact integer target in float64.
    Returns a sample of its rows and outputs, to be compared with the description."""
    count = len(cols[0])
    x = torch.empty((count, len(cols)), dtype=dtype)
    for k, c in enumerate(cols):
        x[:, k] = torch.from_numpy(c.astype(np.float64) if c.dtype == object else c)
    with torch.no_grad():
        y = module(x)
    if not isinstance(y, torch.Tensor) or y.numel() != count:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"forward returned {shape} for a batch of {count} inputs")
    ys = y.detach().reshape(-1).to(torch.float64).numpy()
    # Against the description on 1,024 rows of every 65,536: a call-dependent network (mode,
    # threads, batch size, call count) differs on every row, so a sample is enough.
    pick = np.unique(np.linspace(0, count - 1, num=min(count, 1024 * -(-count // SAMPLE_PER))).astype(np.int64))
    sample = (_rows(cols, pick), ys[pick])
    want = riddle.target(*cols)
    want = want if isinstance(want, np.ndarray) and want.dtype != object else np.asarray(want, dtype=np.float64)
    err = np.abs(ys - want)
    limit = float(riddle.tolerance) if riddle.rule == "tolerance" and riddle.tolerance is not None else 0.5
    ok = err <= limit if riddle.rule == "tolerance" else err < limit
    entry["points"] += count
    if not ok.all():
        idx = np.flatnonzero(~ok)
        entry["wrong"] += len(idx)
        for i in idx[: SHOW - len(entry["examples"])]:
            entry["examples"].append([[int(c[i]) for c in cols], float(ys[i])])
    return sample


def _rows(cols: list[np.ndarray], pick: np.ndarray) -> np.ndarray:
    """The points at positions `pick`, one row each (float64: every one is a value of it)."""
    return np.stack([c[pick].astype(np.float64) for c in cols], axis=1)
