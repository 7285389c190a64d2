"""Untrusted data at the edges of a sandboxed run: notebooks in, JSON lines out.

`read_code_cells` reads a notebook without following a symlink and turns every malformed
field into a one-line `UnusableInput`.  `run_cells` runs code cells through the one launcher
of code that is not the grader's (`forkserver.py`: a jail per notebook, see confine.py and
docs/security.md).  What comes back is a pipe of JSON lines, size-capped, parsed here as
untrusted data into a `ChildRun`.
"""

from __future__ import annotations

import errno
import json
import os
import select
import stat
import time
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    out_of_memory: bool = False  # its cgroup hit the memory limit
    seconds: float = 0.0

    @classmethod
    def from_output(cls, data: bytes, riddles: list[str], *, timed_out: bool, exit_code: int | None,
                    truncated: bool) -> ChildRun:
        run = cls(timed_out=timed_out, exit_code=exit_code, truncated=truncated)
        parse_lines(data.split(b"\n"), run, set(riddles))
        return run

    @classmethod
    def from_json(cls, data: Any, riddles: list[str]) -> ChildRun:
        """A run passed on by the fork server (already parsed there; re-checked here)."""
        if not isinstance(data, dict):
            return cls()
        run = cls(finished=data.get("finished") is True, timed_out=data.get("timed_out") is True,
                  exit_code=data.get("exit_code") if isinstance(data.get("exit_code"), int) else None,
                  truncated=data.get("truncated") is True, out_of_memory=data.get("out_of_memory") is True)
        captures = data.get("captures")
        if isinstance(captures, dict):
            run.captures = {k: v for k, v in captures.items() if k in riddles}
        errors = data.get("cell_errors")
        if isinstance(errors, list):
            run.cell_errors = [str(e)[:400] for e in errors[:50]]
        return run

    def __repr__(self) -> str:
        return f"ChildRun({len(self.captures)} riddles, finished={self.finished}, timed_out={self.timed_out})"


def read_cells(path: str | Path) -> list[dict[str, Any]]:
    """A notebook's cells, each a dict whose code source is text, without following a
    symlink; UnusableInput with a one-line reason for anything malformed."""
    p = Path(path)
    try:
        raw = read_no_follow(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnusableInput(f"{p.name} is a symbolic link: not followed (give the notebook itself)") from None
        raise UnusableInput(f"cannot read {p.name}: {e.strerror or e}") from None
    try:
        nb = _parse_notebook(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UnusableInput(f"{p} is not a notebook: it is not UTF-8 text") from None
    except Exception as e:  # noqa: BLE001 - json and nbformat raise many kinds
        detail = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise UnusableInput(f"{p} is not a readable notebook: {detail}") from None
    if not isinstance(nb, dict):
        raise UnusableInput(f"{p} is not a notebook: it is JSON but not an object")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise UnusableInput(f"{p} is not a notebook: it has no list of cells")
    for i, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise UnusableInput(f"{p} is unusable input: cell {i} is not an object")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(x, str) for x in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise UnusableInput(f"{p} is unusable input: the source of cell {i} is "
                                f"{type(source).__name__}, not text")
        cell["source"] = source
    return cells


def _parse_notebook(text: str) -> Any:
    """A notebook in the current format (4) is plain JSON and is read as such; importing
    nbformat costs a second (its schema validator), which every `riddles check` would pay.
    Older formats, and files without a version, go through nbformat's converter as before."""
    nb = json.loads(text)
    if not isinstance(nb, dict) or (nb.get("nbformat") == 4 and isinstance(nb.get("cells"), list)):
        return nb  # format 4, or not a notebook at all (read_cells says so in its own words)
    import nbformat

    with warnings.catch_warnings():  # nbformat's complaints about a student's file are not ours to print
        warnings.simplefilter("ignore")
        return nbformat.reads(text, as_version=4)


def read_code_cells(path: str | Path) -> list[str]:
    """The code cells of a notebook, or UnusableInput with a one-line reason."""
    return [c["source"] for c in read_cells(path) if c.get("cell_type") == "code"]


def read_no_follow(path: Path, limit: int = 64 * 1024**2) -> bytes:
    """A regular file's bytes; OSError for a symlink (at the last component), a device, a
    FIFO or anything else that is not a plain file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks, size = [], 0
        while block := os.read(fd, 1 << 20):
            size += len(block)
            if size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit // 2**20} MB")
            chunks.append(block)
        return b"".join(chunks)
    finally:
        os.close(fd)


def remove_tree(root: Path) -> None:
    """Delete a directory tree without recursion (a notebook may nest thousands of folders)
    and without following symlinks."""
    stack = [root]
    while stack:
        d = stack[-1]
        try:
            entries = list(os.scandir(d))
        except FileNotFoundError:
            stack.pop()
            continue
        except OSError:
            entries = []
        subdirs = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        for e in entries:
            if not e.is_dir(follow_symlinks=False):
                try:
                    os.unlink(e.path)
                except OSError:
                    pass
        if subdirs:
            stack += subdirs
            continue
        try:
            os.rmdir(d)
        except OSError:
            pass
        stack.pop()


GRADING_ENV = {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NBGRADER_EXECUTION": "autograde", "RIDDLES_GRADING": "1"}
"""What every sandboxed child sees, however it is launched (exploration cells and
self-checks are skipped, plotting is headless, torch stays single-threaded)."""


def run_cells(cells: list[str], riddles: list[str], *, timeout: float = 120.0,
              cell_timeout: float = 60.0, call_timeout: float = 30.0,
              memory: int = MEMORY_LIMIT, turns: dict[str, int] | None = None,
              numbers: list[int] | None = None, server: Any = None) -> ChildRun:
    """Run code cells in a jail of their own and collect their riddle captures (each riddle
    at its turn: see `autograder.jail.plan`; `turns` and `numbers` are passed to the child as is).
    Starts a fork server for the one run unless a running one (`server`) is given."""
    from .forkserver import ForkServer

    start = time.monotonic()
    limits = dict(timeout=timeout, cell_timeout=cell_timeout, call_timeout=call_timeout, memory=memory,
                  turns=turns or {}, numbers=numbers)
    if server is not None:
        run = server.run(cells, riddles, **limits)
    else:
        with ForkServer() as own:
            run = own.run(cells, riddles, **limits)
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



def printable(text: str) -> str:
    """Text safe for a terminal or a one-line log: control characters (newlines, ANSI
    escapes, bidi overrides, ...) and undecodable bytes shown as escapes, nothing else changed."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") and ch != " ":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def printable_lines(text: str) -> str:
    """Multi-line text for a terminal: each line made printable, the line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))
