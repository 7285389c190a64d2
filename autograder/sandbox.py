"""Run a notebook's code in a separate, limited process and collect plain data back.

The child (`autograder.child`) gets a fresh empty working directory, a scrubbed
environment, its own process group (killed as a whole on timeout), CPU-time, memory and
process-count limits, and no stdout the grader reads.  Its only channel back is a pipe of
JSON lines, size-capped; the grader treats everything on it as untrusted data.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

MAX_RESULT_BYTES = 64 * 1024 * 1024
MEMORY_LIMIT = 6 * 1024**3


class UnusableInput(Exception):
    """The input is not a notebook we can read (not JSON, not nbformat, unreadable)."""


@dataclass
class ChildRun:
    """What came back from one sandboxed run."""

    captures: dict[str, Any] = field(default_factory=dict)
    cell_errors: list[str] = field(default_factory=list)
    finished: bool = False
    timed_out: bool = False
    exit_code: int | None = None
    truncated: bool = False  # the child sent more than MAX_RESULT_BYTES
    seconds: float = 0.0

    @classmethod
    def from_output(cls, data: bytes, riddles: list[str], *, timed_out: bool, exit_code: int | None,
                    truncated: bool) -> ChildRun:
        run = cls(timed_out=timed_out, exit_code=exit_code, truncated=truncated)
        parse_lines(data.split(b"\n"), run, set(riddles))
        return run

    def __repr__(self) -> str:
        return f"ChildRun({len(self.captures)} riddles, finished={self.finished}, timed_out={self.timed_out})"


def read_code_cells(path: str | Path) -> list[str]:
    """The code cells of a notebook, or UnusableInput with a one-line reason."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise UnusableInput(f"cannot read {p}: {e.strerror or e}") from None
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        raise UnusableInput(f"{p} is not a notebook: it is not UTF-8 text") from None
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds
        raise UnusableInput(f"{p} is not a readable notebook: {str(e).splitlines()[0][:200] if str(e) else type(e).__name__}") from None
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise UnusableInput(f"{p} is not a notebook: it has no list of cells")
    return [c.get("source", "") if isinstance(c.get("source", ""), str) else "".join(c.get("source"))
            for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]


MAX_FILE_BYTES = 16 * 1024**2


def apply_limits(cpu_seconds: int, memory: int) -> None:
    """In a child about to run student code: CPU time, address space, file size, no core
    dumps.  Both launchers (`run_cells` here and the fork server's jailed child) call this."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


GRADING_ENV = {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NBGRADER_EXECUTION": "autograde", "RIDDLES_GRADING": "1"}
"""What every sandboxed child sees, however it is launched (exploration cells and
self-checks are skipped, plotting is headless, torch stays single-threaded)."""


def child_env(workdir: str) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT") if k in os.environ}
    return {**keep, **GRADING_ENV, "HOME": workdir, "TMPDIR": workdir, "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "ignore"}


def run_cells(cells: list[str], riddles: list[str], *, timeout: float = 120.0,
              cell_timeout: float = 60.0, call_timeout: float = 30.0,
              memory: int = MEMORY_LIMIT, turns: dict[str, int] | None = None,
              numbers: list[int] | None = None) -> ChildRun:
    """Run code cells in a fresh child process and collect its riddle captures (each riddle
    at its turn: see `autograder.plan`; `turns` and `numbers` are passed to the child as is)."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="riddles-") as workdir:
        r, w = os.pipe()
        env = child_env(workdir)
        env["RIDDLES_RESULT_FD"] = str(w)
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.child"], cwd=workdir, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(w,), start_new_session=True,
            preexec_fn=lambda: apply_limits(int(timeout) + 5, memory))
        os.close(w)
        request = {"cells": cells, "riddles": riddles, "cell_timeout": cell_timeout,
                   "call_timeout": call_timeout, "turns": turns or {}, "numbers": numbers}
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(request).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        data, truncated, timed_out = read_capped(r, timeout)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group, forks included
        except ProcessLookupError:
            pass
        code = proc.wait()
    run = ChildRun.from_output(data, riddles, timed_out=timed_out, exit_code=code, truncated=truncated)
    run.seconds = time.monotonic() - start
    return run


def read_capped(fd: int, seconds: float, cap: int = MAX_RESULT_BYTES) -> tuple[bytes, bool, bool]:
    """Read `fd` until EOF or `seconds` pass, keeping at most `cap` bytes; closes `fd`.
    Returns (data, truncated, timed_out)."""
    deadline = time.monotonic() + seconds
    chunks, size, timed_out = [], 0, False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            block = os.read(fd, 65536)
            if not block:
                break
            size += len(block)
            if size <= cap:
                chunks.append(block)
    finally:
        os.close(fd)
    return b"".join(chunks), size > cap, timed_out


def parse_lines(lines: list[bytes] | list[str], run: ChildRun, riddles: set[str]) -> None:
    """Read a child's JSON lines as untrusted data: anything malformed is skipped."""
    for line in lines:
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(msg, dict):
            continue
        kind = msg.get("type")
        if kind == "cell" and msg.get("ok") is False and len(run.cell_errors) < 50:
            run.cell_errors.append(f"cell {msg.get('index', '?')}: {str(msg.get('error', ''))[:300]}")
        elif kind == "riddle" and msg.get("id") in riddles:
            run.captures[msg["id"]] = msg.get("data")
        elif kind == "done":
            run.finished = True


def run_notebook(path: str | Path, riddles: list[str], **limits: Any) -> ChildRun:
    return run_cells(read_code_cells(path), riddles, **limits)
