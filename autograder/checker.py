"""The one backend every front end calls.

`capture_riddle` runs where the student's function lives (their kernel, or the sandboxed
child) and returns plain JSON-able data.  `judge` runs in the grader: it validates that data
and computes verdicts and scores with the grader's own code.  `check_function` is both in
one process, for a student checking their own work.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .description import DescriptionError, from_json
from .limits import DEFAULT
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
    from .capture import CaptureError, capture, forward_outputs

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
                entry["network"] = capture(module, inst.arity, samples).to_json()
                entry["outputs"] = forward_outputs(module, inst.arity, samples)
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
    by_n = {e.get("n"): e for e in entries if isinstance(e, dict)}
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
        verdicts.append(verify(inst, net, e.get("outputs", [])))
        if not verdicts[-1].exact:
            break  # the riddle is lost; larger sizes would only cost time
    if not verdicts:
        return error(riddle, "nothing was captured")
    if len(verdicts) < len(graded) and all(v.exact for v in verdicts):
        return error(riddle, f"only {len(verdicts)} of {len(graded)} sizes were captured")
    return score(riddle, verdicts)


def _is_module(obj: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _not_the_result(rid: str | None) -> str:
    name = rid or "lt10_relu"
    arg = "n_bits" if rid == "is_even_network" else ""
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
