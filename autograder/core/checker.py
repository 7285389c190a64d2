"""The one backend every front end calls.

`capture_riddle` runs where the student's function lives (their kernel, or the sandboxed
child) and returns plain JSON-able data.  `judge` runs in the grader: it validates that data
and computes verdicts and scores with the grader's own code.  `check_function` is both in
one process, for a student checking their own work.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

from .limits import DEFAULT
from .network import DescriptionError, from_json
from .result import RiddleResult, error, missing, score
from .riddles import RIDDLES, Riddle, instances
from .verify import Verdict, public_samples, refuse, verify

CALL_TIMEOUT = DEFAULT.call


class NotAFunction(ValueError):
    """`check(lt10_relu())`: the network was passed instead of the function that builds it."""


class CallTimeout(BaseException):
    """The student's function took too long (BaseException so a bare except cannot eat it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the main thread after `seconds` (Unix only; a no-op elsewhere)."""
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise CallTimeout()

    try:
        old = signal.signal(signal.SIGALRM, _raise)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300]}" if text else type(e).__name__


def capture_riddle(riddle: Riddle, fn: Any, call_timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
    """Call the student's function for each graded instance and capture what it returns."""
    from torch import nn

    from .capture import CaptureError, capture, forward_outputs
    from .fidelity import forward_sweep, single_rows, threads
    from .pristine import module_state, refuse_changed_state

    if _is_module(fn):
        return {"id": riddle.id, "status": "error", "message": _not_the_result(riddle.id)}
    if not callable(fn):
        return {"id": riddle.id, "status": "error", "message": f"{riddle.id} is not a function"}
    out: list[dict[str, Any]] = []
    for inst in instances(riddle):
        entry: dict[str, Any] = {"n": inst.n}
        samples = public_samples(inst)
        try:
            with time_limit(call_timeout):
                module = fn(inst.n) if inst.n is not None else fn()
                state = module_state(module) if isinstance(module, nn.Module) else {}
                with threads(1):  # the same in every front end (a forked jail must never start more)
                    net = capture(module, inst.arity, samples)
                    entry["network"] = net.to_json()
                    entry["outputs"] = forward_outputs(module, inst.arity, samples)
                    entry["sweep"] = forward_sweep(module, inst, net)
                    single_rows(module, inst, net, entry["sweep"])
                refuse_changed_state(state, module)
        except NotImplementedError:
            return {"id": riddle.id, "status": "missing", "message": "not implemented yet"}
        except CallTimeout:
            entry = {"n": inst.n, "error": f"{inst.signature} did not finish within {call_timeout:g} s"}
        except CaptureError as e:
            entry = {"n": inst.n, "refused": str(e)}
        except Exception as e:  # noqa: BLE001 - the student's code raised
            entry = {"n": inst.n, "error": f"{inst.signature} raised {_one_line(e)}"}
        out.append(entry)
        if "network" not in entry:
            break
    return {"id": riddle.id, "status": "captured", "instances": out}


def _short_decimal(w: float) -> str | None:
    """The short decimal a stored weight was written as, when that decimal is not a dyadic
    fraction (0.1 is stored as 0.100000001490116...), else None."""
    import numpy as np

    for digits in range(1, 5):
        text = f"{w:.{digits}f}"
        short = float(text)
        if short != w and (np.float32(short) == np.float32(w) or short == float(np.float64(w))):
            frac = Fraction(text)
            if frac.denominator & (frac.denominator - 1):  # not a power of two
                return text.rstrip("0").rstrip(".") if "." in text else text
    return None


def inexact_weights_note(net: Any) -> str:
    """A note for a network that is not exact and has weights that floats cannot hold."""
    seen: list[str] = []
    for op in net.ops:
        for arr in (op.weight, op.bias, op.const):
            if arr is None:
                continue
            for w in arr.ravel()[:10_000]:
                text = _short_decimal(float(w))
                if text and text not in seen:
                    seen.append(text)
        if len(seen) >= 3:
            break
    if not seen:
        return ""
    shown = ", ".join(seen[:3])
    return (f"some weights ({shown}) are not stored exactly: floats hold only dyadic fractions k/2^m, so "
            f"{seen[0]} becomes {float(__import__('numpy').float32(float(seen[0]))):.17g}; use dyadic weights "
            "(0.5, 0.25, 1/1024, ...) or scale the network so they are whole numbers")


def judge(riddle: Riddle, data: Any) -> RiddleResult:
    """Grade untrusted captured data for one riddle with the grader's own code."""
    if not isinstance(data, dict):
        return missing(riddle)
    status = data.get("status")
    if status == "missing":
        why = str(data.get("message", ""))[:300]
        return missing(riddle, f"{riddle.signature}: {why}" if why else "")
    if status == "error":
        return error(riddle, str(data.get("message", "error"))[:500])
    entries = data.get("instances")
    if status != "captured" or not isinstance(entries, list):
        return error(riddle, "the submission sent back malformed data")
    verdicts: list[Verdict] = []
    graded = instances(riddle)
    by_n = {e.get("n"): e for e in entries if isinstance(e, dict) and isinstance(e.get("n"), (int, type(None)))}
    for inst in graded:
        e = by_n.get(inst.n)
        if e is None:
            break
        if "error" in e:
            return RiddleResult(riddle, "error", 0.0, str(e["error"])[:500], verdicts)
        if "refused" in e:
            verdicts.append(refuse(inst, str(e["refused"])[:500]))
            break
        try:
            net = from_json(e.get("network"))
        except DescriptionError as err:
            verdicts.append(refuse(inst, f"invalid network description: {err}"))
            break
        if not isinstance(e.get("outputs"), list):  # None would mean "a description alone": not from a child
            verdicts.append(refuse(inst, "the network's own outputs were not reported"))
            break
        try:
            verdicts.append(verify(inst, net, e["outputs"], e.get("sweep")))
        except Exception as err:  # noqa: BLE001 - a fault of the grader on odd input: fail closed, in one line
            verdicts.append(refuse(inst, f"the grader could not decide this network ({type(err).__name__}: "
                                         f"{str(err)[:200]}); it is not counted as exact. Please tell your "
                                         "instructors"))
        if not verdicts[-1].exact:
            note = inexact_weights_note(net)
            if note and not verdicts[-1].refused:
                verdicts[-1].notes.append(note)
            break  # the riddle is lost; larger sizes would only cost time
    if not verdicts:
        return error(riddle, "nothing was captured")
    if len(verdicts) < len(graded) and all(v.exact for v in verdicts):
        return error(riddle, f"only {len(verdicts)} of {len(graded)} sizes were captured")
    result = score(riddle, verdicts)
    if result.status == "fail" and not verdicts[-1].refused:
        result.grid = failing_grid(verdicts[-1], net)
    return result


GRID_SIDE = 61


def failing_grid(v: Verdict, net: Any) -> dict[str, Any] | None:
    """Where on the failing domain (when it is not the public one) the network is wrong: its
    exact values on an evenly spaced grid of points, compared with the target (for figures)."""
    import numpy as np

    from .evaluate import exact_output

    d = next((d for d in v.riddle.domains if v.checked and d.describe() == v.checked[-1]), None)
    if d is None or d is v.riddle.domains[0] or d.method != "enumeration":
        return None
    side = GRID_SIDE if d.arity == 2 else 8 * GRID_SIDE
    axis = np.unique(np.linspace(d.lo, d.hi, side).round().astype(np.int64))
    pts = (np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2) if d.arity == 2
           else axis[:, None])
    try:
        got = exact_output(net, pts).fractions()
    except Exception:  # noqa: BLE001 - a figure is never worth failing the grade
        return None
    want = v.riddle.target(*[pts[:, k] for k in range(d.arity)])
    wrong = [bool(g != int(w)) for g, w in zip(got, np.asarray(want).tolist())]
    return {"domain": d.describe(), "lo": d.lo, "hi": d.hi, "arity": d.arity, "axis": axis.tolist(),
            "wrong": wrong}


def _is_module(obj: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _not_the_result(rid: str | None) -> str:
    name = rid or "lt10_relu"  # an example, when the riddle is not known
    spec = RIDDLES.get(name)
    arg = "n" if spec is not None and spec.sizes else ""
    return (f"pass the function, not its result: check({name}), not check({name}({arg})); the grader "
            "calls your function itself to build the network")


def check_function(fn: Callable[..., Any], riddle: str | None = None, *,
                   call_timeout: float = CALL_TIMEOUT) -> RiddleResult:
    """Check a function in this process (self-study, notebook self-checks), with the same
    per-call limit as grading."""
    if _is_module(fn):
        raise NotAFunction(_not_the_result(riddle))
    rid = riddle or getattr(fn, "__name__", "")
    if rid not in RIDDLES:
        known = ", ".join(RIDDLES)
        raise ValueError(f"unknown riddle {rid!r}: name the function after a riddle ({known}) "
                         "or pass riddle=...")
    spec = RIDDLES[rid]
    return judge(spec, capture_riddle(spec, fn, call_timeout))
