"""A fork server: pay torch's import once, then grade each submission in a fresh child.

`python -m autograder.forkserver` imports torch, numpy, matplotlib and the checker, warms up
torch.fx, then reads one JSON request per line on stdin.  For each notebook of a submission
it forks a child that

* starts its own session (process group) with stdin/stdout/stderr on /dev/null,
* gets CPU-time, memory, file-size and (as an unprivileged user) process-count limits,
* when the server runs as root: leaves the network (a new, empty network namespace), is
  locked into an empty directory (chroot) and becomes the unprivileged user `nobody`, so it
  can read no other submission and no result, and can signal no other process;
* otherwise: runs in a fresh empty directory with a scrubbed environment;

and runs the notebook's cells (`child.run_request`), sending JSON lines back over a pipe.
The server kills the child's whole process group (and, as root, every process left in its
jail) at the deadline, then judges the captured plain data with the grader's own code and
answers one JSON line on stdout.  The server itself never runs student code.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from typing import Any

from .sandbox import GRADING_ENV, ChildRun, apply_limits, read_capped

NOBODY = 65534
CLONE_NEWNET = 0x40000000


# ---- inside the server ----------------------------------------------------------------------
def _preload() -> None:
    import encodings.idna  # noqa: F401 - codecs a jailed child could not load later
    import math  # noqa: F401
    import random  # noqa: F401

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy  # noqa: F401
    import torch
    from torch import nn

    torch.set_num_threads(1)  # forked children must not inherit a thread pool
    fig = plt.figure()
    fig.add_subplot(projection="3d").scatter([0], [0], [0])
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)

    from . import capture, checker, child, notebook  # noqa: F401 - a jailed child cannot import from disk
    from .checker import capture_riddle
    from .riddles import RIDDLES

    class _Warm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :1] - torch.relu(self.lin(x)) + torch.cat([x, x], 1)[:, :1] * 0

    capture_riddle(RIDDLES["min_network"], lambda: _Warm())


def _jail_pids(jail: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/root") == jail:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies, so no child outlives a killed grader."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _limit_processes(extra: int) -> None:
    """Not as root, RLIMIT_NPROC counts all of this user's processes: allow `extra` more."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        try:
            count += entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid
        except OSError:
            continue
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (count + extra, count + extra))
    except (ValueError, OSError):
        pass


def _child(request: dict[str, Any], jail: str, w: int) -> None:
    """In the forked child: lock down, run the cells, exit without cleanup handlers."""
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, w)
        os.closerange(w + 1, 65536)
        apply_limits(int(request.get("timeout", 60)) + 2, int(request.get("memory", 4 * 1024**3)))
        if os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.unshare(CLONE_NEWNET)
            os.chown(jail, NOBODY, NOBODY)
            os.chroot(jail)
            os.chdir("/")
            resource.setrlimit(resource.RLIMIT_NPROC, (32, 32))
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            _die_with_parent()  # setuid clears it, so set it (again) afterwards
        else:
            _die_with_parent()
            _limit_processes(64)
            os.chdir(jail)
        os.environ.clear()
        os.environ.update({**GRADING_ENV, "HOME": "/" if os.geteuid() == NOBODY else jail})
        from .child import run_request, writer

        run_request(request, writer(w))
    finally:
        os._exit(0)


def run_one(request: dict[str, Any]) -> ChildRun:
    """Fork a jailed child for one notebook; collect its lines until done or the deadline."""
    jail = tempfile.mkdtemp(prefix="riddles-jail-")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(request, jail, w)
    os.close(w)
    data, truncated, timed_out = read_capped(r, float(request.get("timeout", 60)))
    for target in [pid] + (_jail_pids(jail) if os.geteuid() == 0 else []):
        try:
            os.killpg(target, signal.SIGKILL) if target == pid else os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(jail, ignore_errors=True)
    return ChildRun.from_output(data, request["riddles"], timed_out=timed_out,
                                exit_code=os.waitstatus_to_exitcode(status), truncated=truncated)


def grade_request(request: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission: each notebook in its own child, then judge here."""
    from .submission import judge_request

    return judge_request(request, run_one)


def serve() -> None:
    os.environ.update(GRADING_ENV)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _preload()
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = grade_request(request)
        except Exception as e:  # noqa: BLE001 - report, never die on one submission
            answer = {"student": request.get("student"), "failure": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


# ---- in the grader ---------------------------------------------------------------------------
class WorkerCrashed(Exception):
    """The fork server died or stopped answering."""


class ForkServer:
    """A client for one fork server process (one per grading job)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.forkserver"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
            start_new_session=True)
        ready = self._read(120)
        if not ready.get("ready"):
            raise WorkerCrashed("the grading worker did not start")

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise WorkerCrashed("the grading worker stopped answering")
        return json.loads(line)

    def grade(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            assert self.proc is not None and self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps(request) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self.stop()
                raise WorkerCrashed("the grading worker died") from None
            budget = len(request["notebooks"]) * (float(request.get("timeout", 60)) + 10) + 60
            return self._read(budget)

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout):
                try:
                    if pipe is not None:
                        pipe.close()  # no unclosed-file warnings (pytest -W error)
                except OSError:
                    pass
            self.proc = None


if __name__ == "__main__":
    serve()
