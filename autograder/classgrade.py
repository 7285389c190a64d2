"""`riddles grade`: grade a whole class, isolated, in parallel, resumable.

Submissions are found in an nbgrader course tree (submitted/<student>/<assignment>/*.ipynb)
or in any folder of notebooks (one student per notebook, or per sub-folder).  Each is graded
by a fork-server worker (`forkserver.py`) and saved in the results store (`store.py`); the
outputs (grades.csv, a JSON report and an HTML page per student) are written from the store.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .forkserver import ForkServer, WorkerCrashed
from .riddles import RIDDLES
from .limits import Limits
from .plan import limit_fields, read_plan
from .sandbox import UnusableInput
from .store import ResultStore

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_NOTEBOOKS = 20  # per student; each may run for the whole per-notebook timeout


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
    seconds: float = 0.0
    gradebook: Any = None  # gradebook.GradebookResult with --gradebook


def _safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:100] or "_"


def find_notebooks(folder: Path) -> list[Path]:
    """The notebooks under a folder, sorted; hidden folders (checkpoints, .git) and symlinks skipped."""
    found = []
    for p in folder.rglob("*.ipynb"):
        rel = p.relative_to(folder).parts
        if not any(part.startswith(".") for part in rel) and not p.is_symlink() and p.is_file():
            found.append(p)
    return sorted(found)


def discover(path: Path) -> list[Submission]:
    """Students and their notebooks, in a stable order."""
    if not path.exists():
        raise UnusableInput(f"{path}: no such file or directory")
    root = path / "submitted" if (path / "submitted").is_dir() else path
    if root.is_file():
        return [Submission(root.stem, [root])]
    subs = []
    for entry in sorted(root.iterdir()):
        if entry.is_file() and entry.suffix == ".ipynb":
            subs.append(Submission(entry.stem, [entry]))
        elif entry.is_dir() and not entry.name.startswith("."):
            subs.append(Submission(entry.name, find_notebooks(entry)))
    for s in subs:
        h = hashlib.sha256(f"{__version__}|{sorted(RIDDLES)}".encode())
        for nb in s.notebooks:
            h.update(str(nb.relative_to(root)).encode() + b"\0")
            try:
                h.update(hashlib.sha256(nb.read_bytes()).digest())
            except OSError as e:
                h.update(f"unreadable {e}".encode())
        s.fingerprint = h.hexdigest()
    return subs


def build_request(sub: Submission, limits: Limits, riddles: list[str] | None = None,
                  max_notebooks: int = MAX_NOTEBOOKS) -> dict[str, Any]:
    """The plain-JSON request a grading worker answers: each notebook's plan (code cells, the
    turns of its riddles, what it is about; see `plan.py`) and the limits."""
    notebooks: list[dict[str, Any]] = []
    for nb in sub.notebooks[:max_notebooks]:
        try:
            if nb.stat().st_size > MAX_NOTEBOOK_BYTES:
                raise UnusableInput(f"{nb.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
            notebooks.append(read_plan(nb).entry())
        except UnusableInput as e:
            notebooks.append({"name": nb.name, "error": str(e).replace(str(nb), nb.name)})
        except OSError as e:
            notebooks.append({"name": nb.name, "error": f"cannot read {nb.name}: {e.strerror or e}"})
    rest = sub.notebooks[max_notebooks:]
    if rest:
        shown = ", ".join(p.name for p in rest[:5]) + (f" and {len(rest) - 5} more" if len(rest) > 5 else "")
        notebooks.append({"name": shown, "error": f"not graded: only the first {max_notebooks} notebooks "
                                                  "(in path order) are graded"})
    if not notebooks:
        notebooks.append({"name": "(none)", "error": "no notebook found"})
    return {"student": sub.student, "notebooks": notebooks, "riddles": riddles or list(RIDDLES),
            **limit_fields(limits)}


def _graded(server: ForkServer, request: dict[str, Any]) -> dict[str, Any]:
    """The worker's answer to one request: one retry on a fresh worker if it crashed, and
    GradingFailed unless a report came back."""
    try:
        answer = server.grade(request)
    except WorkerCrashed:
        try:
            answer = server.grade(request)
        except WorkerCrashed as e:
            raise GradingFailed(str(e)) from None
    if "failure" in answer or "report" not in answer:
        raise GradingFailed(str(answer.get("failure", "the grading worker sent no report")))
    return answer


def grade_submission(student: str, notebooks: list[Path], *, limits: Limits = Limits(),
                     riddles: list[str] | None = None, max_notebooks: int = MAX_NOTEBOOKS) -> dict[str, Any]:
    """Grade one student's notebooks exactly as `riddles grade` grades each student (a fork-server
    worker, one jailed child per notebook).  Gradescope's run_autograder and the pytest plugin
    call this.  Returns the worker's plain-JSON answer; GradingFailed if the grader broke."""
    request = build_request(Submission(student, notebooks), limits, riddles, max_notebooks)
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
                self.stream.write(f"graded {self.done}/{self.total}: {label} ({rate:.1f}/s, ETA {eta:.0f}s)\n")
            self.stream.flush()


def grade_class(path: Path, *, out: Path, jobs: int | None = None, limits: Limits = Limits(), force: bool = False,
                gradebook: bool = False, progress: bool = True) -> ClassResult:
    """Grade every submission under `path` into `out` (see module docstring)."""
    start = time.monotonic()
    subs = discover(path)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    store = ResultStore(out / "results.sqlite")
    known = store.fingerprints()
    todo = [s for s in subs if force or known.get(s.student) != s.fingerprint]
    result = ClassResult(skipped=[s.student for s in subs if s not in todo])
    bar = Progress(len(todo)) if progress and todo else None
    jobs = max(1, jobs or os.cpu_count() or 1)
    local = threading.local()
    servers: list[ForkServer] = []

    def work(sub: Submission) -> tuple[dict[str, Any], float]:
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
                try:
                    answer, seconds = fut.result()
                except GradingFailed as e:
                    result.failed[sub.student] = str(e)
                except Exception as e:  # noqa: BLE001 - record and go on with the class
                    result.failed[sub.student] = f"{type(e).__name__}: {e}"
                else:
                    store.save(sub.student, sub.fingerprint, answer, seconds)
                    result.graded.append(sub.student)
                if bar:
                    bar.step(sub.student)
    finally:
        for s in servers:
            s.stop()
    write_outputs(store, out, [s.student for s in subs])
    if gradebook:
        from .gradebook import record_scores

        result.gradebook = record_scores(path, store, out)
    store.close()
    result.seconds = time.monotonic() - start
    return result


def write_outputs(store: ResultStore, out: Path, students: list[str]) -> None:
    """grades.csv, reports/<student>.json and feedback/<student>.html, from the store."""
    present = set(students)
    rows = [r for r in store.rows() if r["student"] in present]
    (out / "reports").mkdir(exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    with open(out / "grades.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", *RIDDLES, "total", "max_total"])
        for r in rows:
            report = json.loads(r["report"])
            by = {x["id"]: x["score"] for x in report["riddles"]}
            w.writerow([r["student"], *[by.get(rid, 0) for rid in RIDDLES], report["score"], report["max_score"]])
    for r in rows:
        name = _safe_name(r["student"])
        report = json.loads(r["report"])
        report["notes"] = json.loads(r["notes"])
        (out / "reports" / f"{name}.json").write_text(json.dumps(report, indent=1))
        (out / "feedback" / f"{name}.html").write_text(r["html"])


def summary(out: Path) -> str:
    """The terminal summary table, read back from grades.csv."""
    with open(out / "grades.csv") as f:
        rows = list(csv.reader(f))
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
