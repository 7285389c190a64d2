"""Run a command as a second, unprivileged user, for the tests of grading without root.

    python -m tests.second_user UID [--no-userns] -- COMMAND...

Needs root.  The command runs under UID (no supplementary groups) in a private mount
namespace where the interpreter's home is reachable even if it lies under a folder only
root may enter (as /root/.pyenv does).  With --no-userns it also runs inside a user
namespace that may create no further user namespaces, which is how a machine without
unprivileged user namespaces looks to the grader.  Exit code 77 means "cannot set this up
here" (the caller skips).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from autograder.jail import confine as jail

CANNOT = 77


def _reach(path: Path) -> None:
    """Make `path` reachable for everyone in this mount namespace: bind it aside, cover the
    first ancestor others may not enter with an open tmpfs, and bind it back."""
    blocked = next((a for a in reversed(path.parents) if not os.stat(a).st_mode & 0o001), None)
    if blocked is None:
        return
    below = path.relative_to(blocked).parts[0]
    kept = os.open(blocked / below, os.O_PATH | os.O_DIRECTORY)  # still reachable once covered
    jail.mount("riddles-open", str(blocked), "tmpfs", 0, "mode=0755")
    (blocked / below).mkdir()
    jail.mount(f"/proc/self/fd/{kept}", str(blocked / below), None, 0x1000 | jail.MS_REC)  # MS_BIND
    os.close(kept)


def _no_more_user_namespaces(uid: int) -> None:
    """Enter a user namespace (mapping root and `uid` to themselves) whose limit on further
    user namespaces is 0."""
    r, w = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.close(r2)
        os.read(r, 1)  # wait for our maps
        Path(f"/proc/{os.getppid()}/uid_map").write_text(f"0 0 1\n{uid} {uid} 1")
        Path(f"/proc/{os.getppid()}/gid_map").write_text(f"0 0 1\n{uid} {uid} 1")
        os.write(w2, b"x")
        os._exit(0)
    os.close(r)
    os.close(w2)
    jail.unshare(jail.CLONE_NEWUSER)
    os.write(w, b"x")
    os.read(r2, 1)
    os.waitpid(pid, 0)
    Path("/proc/sys/user/max_user_namespaces").write_text("0")


def main(argv: list[str]) -> int:
    if os.geteuid() != 0 or "--" not in argv:
        return CANNOT
    uid = int(argv[0])
    command = argv[argv.index("--") + 1:]
    try:
        jail.unshare(jail.CLONE_NEWNS)
        jail.mount("none", "/", None, jail.MS_REC | jail.MS_PRIVATE)
        _reach(Path(os.path.realpath(sys.executable)).parent)
        if "--no-userns" in argv:
            _no_more_user_namespaces(uid)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    except (OSError, jail.JailError) as e:
        print(f"second_user: cannot set up: {e}", file=sys.stderr)
        return CANNOT
    env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir(), "LANG": "C.UTF-8"}
    os.execve(command[0], command, env)
    return CANNOT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
