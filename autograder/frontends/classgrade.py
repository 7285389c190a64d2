"""`riddles grade`: grade a whole class, isolated, in parallel, resumable.

Submissions are found in an nbgrader course tree (submitted/<student>/<assignment>/*.ipynb)
or in any folder of notebooks (one student per notebook, or per sub-folder).  Each is graded
by a fork-server worker (`forkserver.py`) and saved in the results store (`store.py`); the
outputs (grades.csv, a JSON report and an HTML page per student) are written from the store.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.answer import Answer, MalformedAnswer
from ..core.course_riddles import fingerprint as course_fingerprint
from ..core.limits import Limits
from ..core.riddles import RIDDLES
from ..jail.forkserver import ForkServer, WorkerCrashed
from ..jail.plan import limit_fields, read_plan
from ..jail.sandbox import UnusableInput, printable, read_no_follow
from ..render.html import feedback_page
from .store import ResultStore, StoreError

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class GradingFailed(Exception):
    """The grader itself could not grade a submission (not the student's doing)."""


@dataclass
class Submission:
    student: str
    notebooks: list[Path]
    fingerprint: str = ""

    def __repr__(self) -> str:
        return f"Submission({self.student!r}, {len(self.notebooks)} notebook(s))"


@dataclass
class ClassResult:
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    store_error: str = ""  # the store or the outputs failed (disk full, damaged): grading stopped
    seconds: float = 0.0
    gradebook: Any = None  # gradebook.GradebookResult with --gradebook


def display_name(name: str) -> str:
    """A file name as text, losslessly: bytes that are not UTF-8 (kept by Python as lone
    surrogates) become \\xNN escapes, so every name can be stored, printed and compared."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def output_names(students: list[str]) -> dict[str, str]:
    """A distinct, file-system-safe output name per student: the name itself where it is
    safe, else its safe form plus a short hash of the full name (never two alike)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in sorted(students):
        safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in student)[:100]
        if not safe.strip("."):
            safe = "_"
        if safe != student or safe.lower() in taken:
            safe = f"{safe}-{hashlib.sha256(student.encode()).hexdigest()[:10]}"
        taken.add(safe.lower())
        names[student] = safe
    return names


def _walk(folder: Path) -> Iterator[Path]:
    """Every regular file under `folder`, without following a symlink and without recursion
    (so thousands of nested folders are fine); hidden folders (checkpoints, .git) skipped."""
    stack, depth = [(folder, 0)], 0
    while stack:
        d, depth = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            if e.is_symlink() or e.name.startswith("."):
                continue
            if e.is_dir(follow_symlinks=False):
                if depth < 64:
                    stack.append((Path(e.path), depth + 1))
            elif e.is_file(follow_symlinks=False):
                yield Path(e.path)


def find_notebooks(folder: Path) -> list[Path]:
    """The notebooks under a folder, sorted; symlinks and hidden folders skipped."""
    return sorted(p for p in _walk(folder) if p.suffix == ".ipynb")


def discover(path: Path) -> list[Submission]:
    """Students and their notebooks, in a stable order.  A symlink is never followed: a
    student entry that is one is listed with a note, not read."""
    if not os.path.lexists(path):
        raise UnusableInput(f"{display_name(str(path))}: no such file or directory")
    root = path / "submitted" if (path / "submitted").is_dir() and not (path / "submitted").is_symlink() else path
    if root.is_symlink():
        raise UnusableInput(f"{display_name(str(root))} is a symbolic link: give the folder itself")
    if root.is_file():
        return [Submission(display_name(root.stem), [root])]
    subs = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        p = Path(entry.path)
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            if p.suffix == ".ipynb" or os.path.isdir(p):
                subs.append(Submission(display_name(p.stem if p.suffix == ".ipynb" else p.name), [p]))
        elif entry.is_file(follow_symlinks=False) and p.suffix == ".ipynb":
            subs.append(Submission(display_name(p.stem), [p]))
        elif entry.is_dir(follow_symlinks=False):
            subs.append(Submission(display_name(p.name), find_notebooks(p)))
    taken: set[str] = set()
    for s in subs:  # names that differ on disk but read alike (ada/ and ada.ipynb) get a free number
        name, k = s.student, 1
        while name in taken:
            k += 1
            name = f"{s.student} ({k})"
        s.student = name
        taken.add(name)
    for s in subs:
        h = hashlib.sha256(f"{__version__}|{sorted(RIDDLES)}|{course_fingerprint()}".encode())
        for nb in s.notebooks:
            h.update(os.fsencode(nb.relative_to(root)) + b"\0")
            try:
                h.update(hashlib.sha256(read_no_follow(nb)).digest())
            except OSError as e:
                h.update(f"unreadable {e.errno}".encode())
        s.fingerprint = h.hexdigest()
    return subs


def build_request(sub: Submission, limits: Limits, riddles: list[str] | None = None) -> dict[str, Any]:
    """The plain-JSON request a grading worker answers: each notebook's plan (code cells, the
    turns of its riddles, what it is about; see `plan.py`) and the limits."""
    notebooks: list[dict[str, Any]] = []
    max_notebooks = limits.notebooks
    for nb in sub.notebooks[:max_notebooks]:
        name = display_name(nb.name)
        try:
            if nb.is_symlink():
                raise UnusableInput(f"{name} is a symbolic link: not followed, not graded (submit the file itself)")
            if os.lstat(nb).st_size > MAX_NOTEBOOK_BYTES:
                raise UnusableInput(f"{name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
            notebooks.append(read_plan(nb, name).entry())
        except UnusableInput as e:
            notebooks.append({"name": name, "error": display_name(str(e)).replace(display_name(str(nb)), name)})
        except OSError as e:
            notebooks.append({"name": name, "error": f"{name} cannot be read: {e.strerror or e}"})
    rest = sub.notebooks[max_notebooks:]
    if rest:
        shown = (", ".join(display_name(p.name) for p in rest[:5])
                 + (f" and {len(rest) - 5} more" if len(rest) > 5 else ""))
        notebooks.append({"name": shown, "error": f"not graded: only the first {max_notebooks} notebooks "
                                                  "(in path order) are graded"})
    if not notebooks:
        notebooks.append({"name": "(none)", "error": "no notebook found"})
    return {"student": sub.student, "notebooks": notebooks, "riddles": riddles or list(RIDDLES),
            **limit_fields(limits)}


def _graded(server: ForkServer, request: dict[str, Any]) -> Answer:
    """The worker's answer to one request: one retry on a fresh worker if it crashed, and
    GradingFailed unless a well-formed report came back."""
    try:
        answer = server.grade(request)
    except WorkerCrashed:
        try:
            answer = server.grade(request)
        except WorkerCrashed as e:
            raise GradingFailed(str(e)) from None
    if "failure" in answer or "report" not in answer:
        raise GradingFailed(str(answer.get("failure", "the grading worker sent no report")))
    try:
        return Answer.from_json(answer)
    except MalformedAnswer as e:
        raise GradingFailed(f"the grading worker sent a malformed answer ({e})") from None


def grade_submission(student: str, notebooks: list[Path], *, limits: Limits = Limits(),
                     riddles: list[str] | None = None) -> Answer:
    """Grade one student's notebooks exactly as `riddles grade` grades each student (a fork-server
    worker, one jailed child per notebook).  Gradescope's run_autograder and the pytest plugin
    call this.  Returns the worker's answer; GradingFailed if the grader broke."""
    request = build_request(Submission(student, notebooks), limits, riddles)
    server = ForkServer()
    try:
        return _graded(server, request)
    finally:
        server.stop()


class Progress:
    """A progress bar with rate and ETA on a terminal; plain lines otherwise."""

    def __init__(self, total: int, stream: Any = sys.stderr) -> None:
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.lock = threading.Lock()

    def step(self, label: str) -> None:
        with self.lock:
            self.done += 1
            elapsed = time.monotonic() - self.start
            rate = self.done / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate else 0.0
            if self.tty:
                bar = "#" * int(30 * self.done / max(self.total, 1))
                self.stream.write(f"\r[{bar:<30}] {self.done}/{self.total} {rate:.1f}/s ETA {eta:.0f}s ")
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(f"graded {self.done}/{self.total}: {printable(label)} "
                                  f"({rate:.1f}/s, ETA {eta:.0f}s)\n")
            self.stream.flush()


UNISOLATED_FLAG = "--allow-unisolated"
UNISOLATED_TEXT = (
    "this machine offers no isolation for student code (no namespaces: not root, and no "
    "unprivileged user namespaces), so a notebook could read other students' notebooks and "
    "reports, signal the grader's processes and rewrite the results.  Grade as root or where "
    f"user namespaces are allowed, or pass {UNISOLATED_FLAG} to grade anyway, giving up that "
    "protection (each notebook still gets resource limits, its own process group and a "
    "scratch folder)")


class Unisolated(Exception):
    """Other people's notebooks would run without a jail, and the caller did not allow it."""


class OutputBusy(Exception):
    """Another run holds the output folder's lock."""


def lock_output(out: Path) -> int:
    """An exclusive lock on `out` for this run (released when the process ends)."""
    fd = os.open(out / ".riddles-lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputBusy(f"another `riddles grade` is writing to {display_name(str(out))}; "
                         "wait for it to finish (it grades everyone once)") from None
    return fd


def grade_class(path: Path, *, out: Path, jobs: int | None = None, limits: Limits = Limits(), force: bool = False,
                gradebook: bool = False, progress: bool = True, allow_unisolated: bool = False) -> ClassResult:
    """Grade every submission under `path` into `out` (see module docstring)."""
    from ..jail.forkserver import probe

    start = time.monotonic()
    subs = discover(path)
    if probe() == "none" and not allow_unisolated:
        raise Unisolated(UNISOLATED_TEXT)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    lock = lock_output(out)
    try:
        return _grade_locked(subs, path, out, jobs=jobs, limits=limits, force=force, gradebook=gradebook,
                             progress=progress, start=start)
    finally:
        os.close(lock)


def _grade_locked(subs: list[Submission], path: Path, out: Path, *, jobs: int | None, limits: Limits,
                  force: bool, gradebook: bool, progress: bool, start: float) -> ClassResult:
    store = ResultStore(out / "results.sqlite")
    known = store.fingerprints()
    # A saved result is reused only for the same files graded under the same limits.
    limits_key = hashlib.sha256(json.dumps(limits.to_json(), sort_keys=True).encode()).hexdigest()[:12]
    key = {s.student: f"{s.fingerprint}:{limits_key}" for s in subs}
    todo = [s for s in subs if force or known.get(s.student) != key[s.student]]
    result = ClassResult(skipped=[s.student for s in subs if s not in todo])
    bar = Progress(len(todo)) if progress and todo else None
    jobs = max(1, jobs or os.cpu_count() or 1)
    local = threading.local()
    servers: list[ForkServer] = []
    halted = threading.Event()

    def work(sub: Submission) -> tuple[Answer, float]:
        if halted.is_set():
            raise StoreError("not graded: the store failed")
        if not hasattr(local, "server"):
            local.server = ForkServer()
            servers.append(local.server)
        t = time.monotonic()
        answer = _graded(local.server, build_request(sub, limits))
        return answer, time.monotonic() - t

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(work, s): s for s in todo}
            for fut in as_completed(futures):
                sub = futures[fut]
                if halted.is_set():
                    continue
                try:
                    answer, seconds = fut.result()
                    store.save(sub.student, key[sub.student], answer, seconds)
                except GradingFailed as e:
                    result.failed[sub.student] = str(e)
                except StoreError as e:  # disk full or a damaged store: keep what is saved, stop
                    result.store_error = str(e)
                    halted.set()
                    for f in futures:
                        f.cancel()
                except Exception as e:  # noqa: BLE001 - record and go on with the class
                    result.failed[sub.student] = f"{type(e).__name__}: {e}"
                else:
                    result.graded.append(sub.student)
                if bar:
                    bar.step(sub.student)
    finally:
        for server in servers:
            server.stop()
    try:
        write_outputs(store, out, [s.student for s in subs])
        if gradebook and not result.store_error:
            from .gradebook import record_scores

            result.gradebook = record_scores(path, store, out)
    except (OSError, StoreError) as e:
        result.store_error = result.store_error or f"could not write the outputs in {display_name(str(out))}: " \
                                                    f"{getattr(e, 'strerror', None) or e}"
    finally:
        store.close()
    result.seconds = time.monotonic() - start
    return result


CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP's advice: prefix with ')."""
    return "'" + value if value.startswith(CSV_FORMULA_START) else value


def write_outputs(store: ResultStore, out: Path, students: list[str]) -> None:
    """grades.csv, reports/<name>.json and feedback/<name>.html, from the store.  Output names
    are distinct even when student names are not safe file names."""
    present = set(students)
    rows = [r for r in store.rows() if r["student"] in present]
    names = output_names([r["student"] for r in rows])
    (out / "reports").mkdir(exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    tmp = out / "grades.csv.partial"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", *RIDDLES, "total", "max_total"])
        for r in rows:
            report = json.loads(r["report"])
            by = {x["id"]: x["score"] for x in report["riddles"]}
            w.writerow([csv_text(r["student"]), *[by.get(rid, 0) for rid in RIDDLES], report["score"],
                        report["max_score"]])
    tmp.replace(out / "grades.csv")
    for r in rows:
        name = names[r["student"]]
        report = json.loads(r["report"])
        report["student"] = r["student"]
        report["notes"] = json.loads(r["notes"])
        (out / "reports" / f"{name}.json").write_text(json.dumps(report, indent=1))
        page = (feedback_page(r["student"], json.loads(r["views"]), report["notes"], r["score"], r["max_score"])
                if r["views"] else r["html"])  # drawn now: a change of the page needs no regrading
        (out / "feedback" / f"{name}.html").write_text(page)


def summary(out: Path) -> str:
    """The terminal summary table, read back from grades.csv (names shown with every control
    character escaped, so no name can forge a row)."""
    with open(out / "grades.csv", newline="") as f:
        rows = [[printable(c) for c in r] for r in csv.reader(f)]
    head, body = rows[0], rows[1:]
    widths = [max(len(x) for x in col) for col in zip(*rows)] if body else [len(h) for h in head]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body[:50]]
    if len(body) > 50:
        lines.append(f"... and {len(body) - 50} more (see grades.csv)")
    if body:
        totals = [float(r[-2]) for r in body]
        lines.append(f"{len(body)} students, mean {sum(totals) / len(totals):.2f} / {body[0][-1]}")
    return "\n".join(lines)
