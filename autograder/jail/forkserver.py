"""The one launcher of code that is not the grader's: a fork server with a clean template.

`python -m autograder.jail.forkserver` is started with a scrubbed environment.  It imports torch,
numpy, matplotlib and the checker once and warms up torch.fx, then forks the *template*:
a process that from then on only receives "start a notebook" orders (four numbers and three
file descriptors, over a socket pair) and forks one warden per order.  The template never
reads a request, a notebook or a result, so a notebook forked from it finds nothing of
anyone else's in its memory.

The server's main process (the *broker*) reads one JSON request per line on stdin.  For
each notebook it writes the cells into an anonymous memory file, orders a launch, reads the
notebook's JSON lines from a pipe (size-capped, untrusted), receives the warden's verdict on
how the notebook ended, and judges the captured plain data with the grader's own code.

Per notebook (see `confine.py`): a warden places it in its own memory/pids cgroup and enforces
the deadline; its init is PID 1 of new PID, mount, network, IPC and UTS namespaces and
mounts a size-limited tmpfs as the whole file system; the student process runs under a uid
of its own (as root) or without capabilities (in a user namespace), with resource limits.
When the student process ends, init ends, and the kernel kills whatever the notebook left.

Every front end goes through here: `riddles grade`, Gradescope and the pytest plugin ask
for whole submissions (`grade`), `riddles check` and the nbgrader preprocessor for the raw
run of one notebook (`run`).
"""

from __future__ import annotations

import gc
import io
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

from . import confine as jail
from .sandbox import GRADING_ENV, ChildRun, read_capped, remove_tree

SCRATCH_PREFIX = "riddles-scratch-"  # mode none only: elsewhere the scratch space is a tmpfs in the jail
ORDER = struct.Struct("=dqqq")  # timeout seconds, memory bytes, CPU seconds, flags
MAX_FILE_BYTES = 16 * 1024**2
FALLBACK_TASKS = 4
"""Without a pids cgroup: processes (and threads) per notebook; each gets memory/4 of address
space, so together they stay within the notebook's memory limit."""


# ---- which isolation the machine offers --------------------------------------------------------
def probe() -> str:
    """'root', 'userns' or 'none': the strongest jail a forked child can build here."""
    for mode in (("root", "userns") if os.geteuid() == 0 else ("userns",)):
        pid = os.fork()
        if pid == 0:
            _forked(lambda mode=mode: (_enter_namespaces(mode, os.getuid(), os.getgid()), _mount_scratch(mode, 0)), 1)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            return mode
    return "none"


def _enter_namespaces(mode: str, uid: int, gid: int) -> None:
    """The warden's first step: a PID namespace for its children (and, not as root, a user
    namespace in which it may build the rest)."""
    if mode == "userns":
        jail.unshare(jail.CLONE_NEWUSER | jail.CLONE_NEWPID)
        jail.write_id_maps(uid, gid)
    else:
        jail.unshare(jail.CLONE_NEWPID)


def _mount_scratch(mode: str, uid: int) -> None:
    jail.unshare(jail.CLONE_NEWNS | jail.CLONE_NEWNET | jail.CLONE_NEWIPC | jail.CLONE_NEWUTS)
    jail.enter_scratch_root(jail.SCRATCH_BYTES, uid if mode == "root" else 0)


# ---- inside the server ----------------------------------------------------------------------
def _preload() -> None:
    import encodings.idna  # noqa: F401 - codecs a jailed child could not load later
    import math  # noqa: F401
    import random  # noqa: F401

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy  # noqa: F401
    import numpy.random  # noqa: F401 - loaded lazily by numpy, and common in notebooks
    import torch
    from torch import nn

    torch.set_num_threads(1)  # forked children must not inherit a thread pool
    fig = plt.figure()
    fig.add_subplot(projection="3d").scatter([0], [0], [0])
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)

    from ..core import (
        capture,  # noqa: F401
        checker,  # noqa: F401
    )
    from ..core.checker import capture_riddle
    from ..core.riddles import RIDDLES
    from ..frontends import (
        nbgrader_cells,  # noqa: F401
        notebook,  # noqa: F401
    )
    from ..render import figures  # noqa: F401
    from ..render import text as report  # noqa: F401
    from . import child  # noqa: F401
    from . import judging as submission  # noqa: F401

    class _Warm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :1] - torch.relu(self.lin(x)) + torch.cat([x, x], 1)[:, :1] * 0

    capture_riddle(next(r for r in RIDDLES.values() if r.arity == 2), lambda: _Warm())  # any two-input riddle


def _forked(body: Callable[[], object], failure: int) -> NoReturn:
    """In a forked child: run `body`, then leave without Python's cleanup (0, or `failure`
    if it raised)."""
    code = failure
    try:
        body()
        code = 0
    finally:
        os._exit(code)


def _only_fds(keep: list[int]) -> None:
    """stdin/stdout/stderr on /dev/null; every descriptor but `keep` closed."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    last = 2
    for fd in sorted(keep):
        os.closerange(last + 1, fd)
        last = fd
    os.closerange(last + 1, 65536)


def _template(sock: socket.socket, mode: str) -> None:
    """Fork a warden per order; nothing else.  Runs until the broker closes the socket."""
    jail.die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # wardens are reaped by the kernel
    _only_fds([sock.fileno()])
    cgroups = jail.cgroup_parents()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, ORDER.size, 3)
        except OSError:
            os._exit(0)
        if len(msg) != ORDER.size or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            if not msg:
                os._exit(0)
            continue
        limits = ORDER.unpack(msg)
        if os.fork() == 0:
            sock.close()
            _forked(lambda fds=fds, limits=limits: _warden(fds, limits, mode, cgroups), 70)
        for fd in fds:
            os.close(fd)


def _warden(fds: list[int], limits: tuple[float, int, int, int], mode: str,
            cgroups: tuple[list[Path], int] | None) -> None:
    """Start the notebook in its jail, end it at the deadline, report how it ended."""
    request_fd, result_fd, status_fd = fds
    timeout, memory, cpu, _ = limits
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    jail.die_with_parent()
    _only_fds(fds)
    uid = jail.UID_BASE + os.getpid()
    group = None
    if cgroups is not None:
        try:
            group = jail.make_cgroup(cgroups[0], cgroups[1], f"riddles-{os.getpid()}", memory, jail.MAX_TASKS)
            group.add(os.getpid())
        except OSError:
            group = None
    scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX) if mode == "none" else ""
    if mode == "none" and os.geteuid() == 0:
        os.chown(scratch, uid, uid)
    outer_uid, outer_gid = os.getuid(), os.getgid()
    if mode != "none":
        _enter_namespaces(mode, outer_uid, outer_gid)
    init = os.fork()
    if init == 0:
        os.close(status_fd)
        has_pids = group is not None and (len(group.dirs) > 1 or group.version == 2)
        _forked(lambda: _init(request_fd, result_fd, mode, uid, memory, cpu, has_pids=has_pids, scratch=scratch), 71)
    os.close(request_fd)
    os.close(result_fd)
    timed_out = False
    pidfd = os.pidfd_open(init)
    if not select.select([pidfd], [], [], timeout)[0]:
        timed_out = True
        _kill(init, mode)
    os.close(pidfd)
    _, status = os.waitpid(init, 0)
    code = os.waitstatus_to_exitcode(status)
    if mode == "none":
        _kill(init, mode)  # what the notebook left in its process group
        if os.geteuid() == 0:
            _kill_uid(uid)
        remove_tree(Path(scratch))
    oom = bool(group and group.oom_killed())
    if group is not None:
        group.remove(cgroups[0] if cgroups else [])
    os.write(status_fd, json.dumps({"exit": 128 - code if code > 128 else code, "timed_out": timed_out,
                                    "oom": oom, "isolation": mode}).encode())
    os._exit(0)


def _kill(init: int, mode: str) -> None:
    try:
        if mode == "none":
            os.killpg(init, signal.SIGKILL)
        else:
            os.kill(init, signal.SIGKILL)  # PID 1 of the namespace: the kernel kills the rest
    except (ProcessLookupError, PermissionError):
        pass


def _kill_uid(uid: int) -> None:
    """Without a PID namespace, as root: every process of the notebook's own uid."""
    pid = os.fork()
    if pid == 0:
        _forked(lambda: (os.setuid(uid), os.kill(-1, signal.SIGKILL)), 0)
    os.waitpid(pid, 0)


def _init(request_fd: int, result_fd: int, mode: str, uid: int, memory: int, cpu: int, *,
          has_pids: bool, scratch: str) -> None:
    """PID 1 of the notebook's namespace: build its file system, run the student process,
    end when it ends (and with it, everything the notebook started)."""
    jail.die_with_parent()
    jail.first_to_go_when_memory_runs_out()  # before the mount namespace hides /proc
    if mode == "none":
        os.setsid()
        os.chdir(scratch)
    else:
        _mount_scratch(mode, uid)
    student = os.fork()
    if student == 0:
        _forked(lambda: _student(request_fd, result_fd, mode, uid, memory, cpu, has_pids), 72)
    os.close(request_fd)
    os.close(result_fd)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == student:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _student(request_fd: int, result_fd: int, mode: str, uid: int, memory: int, cpu: int, has_pids: bool) -> None:
    """The process that runs the notebook's cells."""
    tasks: int | None = None
    per_process = memory
    if not has_pids:
        tasks = FALLBACK_TASKS
        per_process = max(memory // FALLBACK_TASKS, 1024**3)
        if mode != "root" and os.geteuid() != 0:
            tasks += _processes_of(os.getuid())  # RLIMIT_NPROC counts every process of the uid
    elif mode == "root" or (mode == "none" and os.geteuid() == 0):
        tasks = jail.MAX_TASKS
    jail.limit_resources(cpu, per_process, MAX_FILE_BYTES, tasks)
    if mode == "root" or (mode == "none" and os.geteuid() == 0):
        jail.become(uid)
    elif mode == "userns":
        jail.drop_capabilities()
    jail.die_with_parent()  # a change of uid clears it
    jail.no_new_privileges()
    os.environ.clear()
    home = "/" if mode != "none" else os.getcwd()
    os.environ.update({**GRADING_ENV, "HOME": home, "TMPDIR": home})
    with os.fdopen(request_fd, "rb") as f:
        request = json.loads(f.read())
    from .child import run_request, writer

    run_request(request, writer(result_fd))


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        try:
            count += entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid
        except OSError:
            continue
    return count


class Launcher:
    """The broker's side of the template: order a notebook run, collect what came back."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.template = os.fork()
        if self.template == 0:
            mine.close()
            _template(theirs, mode)
        theirs.close()
        self.sock = mine

    def run(self, cells: list[str], riddles: list[str], *, timeout: float, cell_timeout: float,
            call_timeout: float, memory: int, turns: dict[str, int] | None = None,
            numbers: list[int] | None = None) -> ChildRun:
        request = json.dumps({"cells": cells, "riddles": riddles, "cell_timeout": cell_timeout,
                              "call_timeout": call_timeout, "turns": turns or {},
                              "numbers": numbers}).encode()
        req = os.memfd_create("riddles-request", os.MFD_CLOEXEC)
        _write_all(req, request)
        os.lseek(req, 0, os.SEEK_SET)
        res_r, res_w = os.pipe()
        st_r, st_w = os.pipe()
        try:
            socket.send_fds(self.sock, [ORDER.pack(timeout, memory, int(timeout) + 2, 0)], [req, res_w, st_w])
        finally:
            for fd in (req, res_w, st_w):
                os.close(fd)
        data, truncated, _ = read_capped(res_r, timeout + 15)
        raw, _, _ = read_capped(st_r, 15, cap=4096)
        try:
            status = json.loads(raw)
        except ValueError:
            raise jail.JailError("the notebook's jail could not be built or watched") from None
        run = ChildRun.from_output(data, riddles, timed_out=bool(status.get("timed_out")),
                                   exit_code=status.get("exit"), truncated=truncated)
        run.out_of_memory = bool(status.get("oom"))
        if run.out_of_memory:
            run.cell_errors.append(f"the notebook reached its memory limit ({memory / 2**30:g} GiB for all its "
                                   "processes together): the kernel ended one of its processes")
        return run


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def grade_request(launcher: Launcher, request: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission: each notebook in its own jail (each riddle captured at its turn,
    see `plan.py`), then judge here."""
    from .judging import judge_request

    def run_one(req: dict[str, Any]) -> ChildRun:
        return launcher.run(req["cells"], req["riddles"], timeout=float(req["timeout"]),
                            cell_timeout=float(req["cell_timeout"]), call_timeout=float(req["call_timeout"]),
                            memory=int(req["memory"]), turns=req.get("turns") or {}, numbers=req.get("numbers"))

    return judge_request(request, run_one).to_json()


def answer(launcher: Launcher, request: dict[str, Any]) -> dict[str, Any]:
    if request.get("kind") == "run":
        run = launcher.run(request["cells"], request["riddles"], timeout=float(request["timeout"]),
                           cell_timeout=float(request["cell_timeout"]), call_timeout=float(request["call_timeout"]),
                           memory=int(request["memory"]), turns=request.get("turns") or {},
                           numbers=request.get("numbers"))
        return {"run": asdict(run)}
    return grade_request(launcher, request)


def _course_riddles(argv: list[str]) -> str:
    """Load the course riddle file the grader named (`--course-riddles PATH`), before the
    template is forked: a jailed notebook cannot import from disk, and the broker judges with
    this copy of the spec.  Returns what went wrong ('' when nothing did)."""
    if "--course-riddles" not in argv:
        return ""
    from ..core.course_riddles import CourseRiddleError, use_riddle_file

    try:
        use_riddle_file(Path(argv[argv.index("--course-riddles") + 1]))
    except (CourseRiddleError, IndexError) as e:
        return str(e) or "--course-riddles needs a path"
    return ""


def serve(argv: list[str] | None = None) -> None:
    os.environ.clear()
    os.environ.update(GRADING_ENV)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    jail.die_with_parent()
    mode = probe()
    _preload()
    out = sys.stdout
    problem = _course_riddles(sys.argv[1:] if argv is None else argv)
    if problem:
        out.write(json.dumps({"ready": False, "failure": problem}) + "\n")
        out.flush()
        return
    # Everything imported so far is shared with each notebook forked from here, page by page,
    # until either side writes to it.  The garbage collector writes to every object it walks,
    # so a notebook's first collection would copy the whole heap (some 60 MB, 15,000 page
    # faults, a tenth of a second per notebook): freeze the objects that exist now out of its reach.
    gc.collect()
    gc.freeze()
    launcher = Launcher(mode)
    out.write(json.dumps({"ready": True, "isolation": mode}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = answer(launcher, request)
        except Exception as e:  # noqa: BLE001 - report, never die on one submission
            reply = {"student": request.get("student"), "failure": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# ---- in the grader ---------------------------------------------------------------------------
class WorkerCrashed(Exception):
    """The fork server died or stopped answering."""


SERVER_ENV = {**GRADING_ENV, "LANG": "C.UTF-8"}
"""All the fork server gets of the grader's environment: nothing (secrets stay behind)."""


class ForkServer:
    """A client for one fork server process (one per grading job)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()
        self.isolation = ""
        self.course: tuple[Path | None, str] = (None, "")  # the course riddle file the server holds, its digest

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server with the course riddles this process grades with (the same file)."""
        from ..core.course_riddles import fingerprint, loaded_file

        self.course = (loaded_file(), fingerprint())
        course = ["--course-riddles", str(self.course[0])] if self.course[0] else []
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.jail.forkserver", *course], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
            start_new_session=True, env=SERVER_ENV, cwd="/")
        ready = self._read(120)
        if not ready.get("ready"):
            self.stop()
            raise WorkerCrashed(f"the grading worker did not start: {ready['failure']}" if ready.get("failure")
                                else "the grading worker did not start")
        self.isolation = str(ready.get("isolation", "none"))

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise WorkerCrashed("the grading worker stopped answering")
        return json.loads(line)

    def _ask(self, request: dict[str, Any], budget: float) -> dict[str, Any]:
        from ..core.course_riddles import fingerprint, loaded_file

        with self.lock:
            if self.proc is not None and self.course != (loaded_file(), fingerprint()):
                self.stop()  # the grader changed course: the server must hold the same riddles
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            assert self.proc is not None and self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps(request) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self.stop()
                raise WorkerCrashed("the grading worker died") from None
            return self._read(budget)

    def grade(self, request: dict[str, Any]) -> dict[str, Any]:
        """A whole submission, judged by the worker (see classgrade.build_request)."""
        budget = len(request["notebooks"]) * (float(request.get("timeout", 60)) + 30) + 60
        return self._ask(request, budget)

    def run(self, cells: list[str], riddles: list[str], *, timeout: float, cell_timeout: float,
            call_timeout: float, memory: int, turns: dict[str, int] | None = None,
            numbers: list[int] | None = None) -> ChildRun:
        """One notebook's raw run (captures not yet judged: the caller judges them)."""
        reply = self._ask({"kind": "run", "cells": cells, "riddles": riddles, "timeout": timeout,
                           "cell_timeout": cell_timeout, "call_timeout": call_timeout, "memory": memory,
                           "turns": turns or {}, "numbers": numbers}, timeout + 90)
        if "run" not in reply:
            raise WorkerCrashed(str(reply.get("failure", "the grading worker sent no run")))
        return ChildRun.from_json(reply["run"], riddles)

    def stop(self) -> None:
        """Kill the server (its template and wardens follow it) and close the pipes."""
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
