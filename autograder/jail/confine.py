"""The kernel's isolation mechanisms, as small functions the fork server's launcher calls.

A notebook runs in three processes created here (see `forkserver.py` for the order):

* the *warden* (outside every namespace but its user namespace when not root): places the
  notebook in its own cgroup, starts its init, enforces the deadline, cleans up;
* the notebook's *init* (PID 1 of a new PID namespace; also a new mount, network, IPC and
  UTS namespace): mounts a size-limited tmpfs as the notebook's whole file system, then
  starts the student process and ends as soon as it ends, which makes the kernel kill
  everything else in the namespace;
* the *student process*: a uid of its own (as root) or no capabilities (in a user
  namespace), resource limits, no new privileges.

Which of these the machine offers is found once, by `probe()`: "root" (real root: every
layer), "userns" (an unprivileged user namespace: every layer but a distinct uid), or
"none" (nothing but resource limits and a process group).  docs/security.md says what each
layer stops and what it does not.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE = 1, 24, 38, 4
UID_BASE = 1_600_000_000
"""Per-notebook uids (as root) are UID_BASE + the warden's host pid: unique among live
notebooks on the machine, far above any account, never the grader's."""
SCRATCH_BYTES = 64 * 1024**2
MAX_TASKS = 64
"""Processes and threads one notebook may have at once (its pids cgroup, or RLIMIT_NPROC on
its own uid)."""

_libc = ctypes.CDLL(None, use_errno=True)


class JailError(Exception):
    """A namespace, mount or cgroup step failed where it was expected to work."""


def _check(ret: int, what: str) -> None:
    if ret != 0:
        e = ctypes.get_errno()
        raise JailError(f"{what}: {os.strerror(e)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def prctl(option: int, arg: int) -> int:
    return int(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0),
                           ctypes.c_ulong(0), ctypes.c_ulong(0)))


def die_with_parent() -> None:
    """SIGKILL when the parent dies, so nothing outlives the process that watches it."""
    prctl(PR_SET_PDEATHSIG, 9)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Empty the bounding, effective, permitted and inheritable capability sets."""
    for cap in range(64):
        if prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def first_to_go_when_memory_runs_out() -> None:
    """Tell the kernel's OOM killer to pick this process (and what it forks) first, so a
    machine-wide shortage ends a notebook, not the grader."""
    try:
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass  # no /proc (already jailed) or not allowed: the cgroup limit still holds


def no_new_privileges() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def write_id_maps(outside_uid: int, outside_gid: int) -> None:
    """In a fresh user namespace: be root inside, the caller's own ids outside."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {outside_uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {outside_gid} 1")


def enter_scratch_root(size: int, uid: int, mountpoint: str = "/tmp") -> None:
    """In a new mount namespace: stop mount propagation, mount a tmpfs of `size` bytes (the
    notebook's disk quota, counted in its memory cgroup too) and make it the root."""
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    mount("riddles-scratch", mountpoint, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={size},nr_inodes=20000,mode=0700,uid={uid},gid={uid}")
    os.chdir(mountpoint)
    os.chroot(".")
    os.chdir("/")


@dataclass
class Cgroup:
    """One notebook's cgroup(s): v1 memory and pids hierarchies, or one v2 directory."""

    dirs: list[Path]
    version: int

    def add(self, pid: int) -> None:
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(pid))

    def oom_killed(self) -> bool:
        for d in self.dirs:
            for name in ("memory.oom_control", "memory.events"):
                try:
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
                except (OSError, ValueError):
                    continue
        return False

    def remove(self, parents: list[Path]) -> None:
        """Move `os.getpid()` back to the parent groups and delete ours (empty by now)."""
        for d, parent in zip(self.dirs, parents):
            try:
                (parent / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                pass
            try:
                d.rmdir()
            except OSError:
                pass


def _own_cgroup(controller: str) -> tuple[Path, int] | None:
    """The directory of this process's cgroup that holds `controller`, and the version."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            d = Path("/sys/fs/cgroup") / controller / path.lstrip("/")
            if d.is_dir():
                return d, 1
    for line in lines:
        if line.startswith("0::"):
            for base in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
                d = base / line[3:].lstrip("/")
                try:
                    if controller in (d / "cgroup.subtree_control").read_text().split():
                        return d, 2
                except OSError:
                    continue
    return None


def cgroup_parents() -> tuple[list[Path], int] | None:
    """Where notebook cgroups can be made (memory, pids and cpu), or None when nothing usable.

    The cpu group gives each notebook an equal share of the processors, however many processes
    it starts (a process that leaves its session escapes the scheduler's own per-session
    fairness): the time limits are wall-clock times, so one notebook must not slow another."""
    mem, pids, cpu = _own_cgroup("memory"), _own_cgroup("pids"), _own_cgroup("cpu")
    if mem is None or not os.access(mem[0], os.W_OK):
        return None
    if mem[1] == 2:
        return [mem[0]], 2
    dirs = [mem[0]] + [g[0] for g in (pids, cpu) if g and g[1] == 1 and os.access(g[0], os.W_OK)]
    return dirs, 1


def make_cgroup(parents: list[Path], version: int, name: str, memory: int, tasks: int) -> Cgroup:
    """A new cgroup under each parent with the notebook's memory and task limits."""
    dirs = []
    for parent in parents:
        d = parent / name
        d.mkdir()
        dirs.append(d)
        settings = ({"memory.max": memory, "memory.swap.max": 0, "pids.max": tasks} if version == 2 else
                    {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory, "pids.max": tasks})
        for key, value in settings.items():
            f = d / key
            if f.exists():
                try:
                    f.write_text(str(value))
                except OSError:
                    if key.startswith("memory.memsw") or key.startswith("memory.swap"):
                        continue  # no swap accounting on this machine
                    raise
    return Cgroup(dirs, version)


def limit_resources(cpu_seconds: int, memory: int, file_bytes: int, tasks: int | None) -> None:
    """Per-process limits: CPU time, address space, file size, no core dumps; and, when
    given, the number of tasks of this uid (the bound on processes when no cgroup can)."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if tasks is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))


def become(uid: int) -> None:
    """As root: the notebook's own uid and gid, no supplementary groups (drops every
    capability, since all ids become non-zero)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
