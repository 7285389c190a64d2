"""Gradescope: build the autograder bundle, and grade one submission inside Gradescope's container.

`build_bundle` writes the zip Gradescope asks for: `setup.sh` and `run_autograder` (from
`bundle/`), `riddles-gradescope.json` (the settings chosen at build time), `package/` (this
package's source, installed by setup.sh) and, for a course with its own riddles,
`course_riddles.py` (the course's riddle file, loaded by `run`; docs/authoring.md).  Inside the
container, `run_autograder` calls
`run`, which grades the notebooks in submission/ with `classgrade.grade_submission` (the
same fork-server worker and jailed children as `riddles grade`, so the same scores) and
writes results/results.json in the format of Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/).  `results_json` and
`failure_json` are pure functions from the worker's answer to that file's content.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.answer import Answer
from ..core.course_riddles import HANDED_OUT, CourseRiddleError, loaded_file, use_riddle_file
from ..core.limits import DEFAULT, Limits
from ..core.riddles import RIDDLES
from ..render.text import md_escape

DEFAULT_ROOT = "/autograder"
ROOT_ENV = "RIDDLES_AUTOGRADER_ROOT"
CONFIG_NAME = "riddles-gradescope.json"
COURSE_FILE = HANDED_OUT
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
PACKAGE_DIR = Path(__file__).resolve().parents[1]
BUNDLE_FILES = PACKAGE_DIR / "bundle"
ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed, so the same inputs build the same bytes


@dataclass(frozen=True)
class GradescopeConfig:
    """Settings chosen when the bundle is built; stored in the bundle as JSON."""

    limits: Limits = DEFAULT  # the one set of limits (autograder/core/limits.py)
    visibility: str = "visible"  # of each riddle's test result
    torch: str = "torch"  # what setup.sh installs for torch ...
    torch_index: str = "https://download.pytorch.org/whl/cpu"  # ... and from where ("" = PyPI)

    def __post_init__(self) -> None:
        if not isinstance(self.limits, Limits):
            raise ValueError("limits must be Limits")
        if not (isinstance(self.torch, str) and self.torch and isinstance(self.torch_index, str)):
            raise ValueError("torch must be a requirement and torch_index a URL or empty")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")

    @classmethod
    def from_json(cls, data: Any) -> GradescopeConfig:
        if not isinstance(data, dict):
            raise ValueError("the settings are not a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**{**data, "limits": Limits.from_json(data.get("limits", {}))})

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "limits": self.limits.to_json()}


# ---- building the bundle ---------------------------------------------------------------------
def _dependencies() -> list[str]:
    """The package's runtime requirements, read from its installed metadata."""
    try:
        reqs = metadata.requires("neuron-riddles") or []
    except metadata.PackageNotFoundError:
        raise ValueError("neuron-riddles is not installed here (run `make setup`), so its "
                         "dependencies for the bundle are unknown") from None
    return [r for r in reqs if "extra ==" not in r]


def bundle_pyproject() -> str:
    deps = ",\n".join(f"    {json.dumps(d)}" for d in _dependencies())
    return f"""[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "neuron-riddles"
version = "{__version__}"
requires-python = ">=3.10"
dependencies = [
{deps}
]

[tool.setuptools]
packages = ["autograder", "autograder.core", "autograder.jail", "autograder.render", "autograder.frontends"]

[tool.setuptools.package-data]
autograder = ["py.typed", "bundle/*"]
"""


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def package_files() -> list[Path]:
    """The files of this package that the bundle ships (sources, bundle scripts, py.typed)."""
    files = [p for p in PACKAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.suffix not in (".pyc", ".pyo")]
    return sorted(files)


def build_bundle(out: Path, config: GradescopeConfig) -> Path:
    """Write the autograder zip for Gradescope to `out`; the same inputs give the same bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", (BUNDLE_FILES / "setup.sh").read_bytes(), executable=True)
        _add(zf, "run_autograder", (BUNDLE_FILES / "run_autograder").read_bytes(), executable=True)
        _add(zf, CONFIG_NAME, (json.dumps(config.to_json(), indent=2) + "\n").encode())
        _add(zf, "package/pyproject.toml", bundle_pyproject().encode())
        _add(zf, "package/README.md", b"neuron-riddles, as shipped in a Gradescope autograder bundle.\n")
        course = loaded_file()
        if course is not None:  # the course's own riddles, graded in the container like the package's
            _add(zf, COURSE_FILE, course.read_bytes())
        for p in package_files():
            rel = p.relative_to(PACKAGE_DIR.parent).as_posix()
            _add(zf, f"package/{rel}", p.read_bytes(), executable=os.access(p, os.X_OK))
    tmp.replace(out)
    return out


# ---- results.json ------------------------------------------------------------------------------
def _test(name: str, number: str, score: float, max_score: float, passed: bool, output: str,
          visibility: str) -> dict[str, Any]:
    return {"name": name, "number": number, "score": score, "max_score": max_score,
            "status": "passed" if passed else "failed", "output": output, "output_format": "md",
            "visibility": visibility}


def results_json(answer: Answer, *, notebooks: list[str], seconds: float,
                 config: GradescopeConfig) -> dict[str, Any]:
    """results.json from a grading worker's answer: one test per riddle, then one per graded
    part (each n of is_even_network; worth no points of its own, its riddle holds them)."""
    tests: list[dict[str, Any]] = []
    rows = ["| riddle | result | points |", "|---|---|---|"]
    for i, r in enumerate(answer.riddles, start=1):
        tests.append(_test(f"{r.id}: {RIDDLES[r.id].title}", str(i), r.score, r.max_score,
                           r.passed, r.markdown, config.visibility))
        for part in r.parts:
            word = {"pass": "exact", "fail": "not exact", "unchecked": "not checked"}[part.status]
            tests.append(_test(f"{r.id}, n = {part.n}: {word} (no points of its own; see {r.id})",
                               f"{i}.{part.n}", 0.0, 0.0, part.status == "pass", part.markdown,
                               config.visibility))
        rows.append(f"| {r.id} | {r.status} | {r.score:g} / {r.max_score:g} |")
    lines = [f"**Riddles: {answer.score:g} / {answer.max_score:g} points.** Every network is "
             "judged on the function its weights define, exactly, on the whole graded domain."]
    if notebooks:
        lines += ["", "Graded notebook(s): " + ", ".join(md_escape(n) for n in notebooks) + "."]
    lines += ["", *rows]
    if answer.notes:
        lines += ["", "**Notes on running your notebook(s):**", ""] + [f"- {md_escape(n)}" for n in answer.notes]
    return {"score": answer.score, "execution_time": round(seconds, 1), "output": "\n".join(lines),
            "output_format": "md", "test_output_format": "md", "test_name_format": "text",
            "stdout_visibility": "hidden",
            "extra_data": {"neuron_riddles": __version__, "notebooks": notebooks, "max_score": answer.max_score},
            "tests": tests}


def failure_json(message: str, seconds: float) -> dict[str, Any]:
    """results.json when nothing could be graded for a reason that is not the student's."""
    return {"score": 0.0, "execution_time": round(seconds, 1), "output": message, "output_format": "text",
            "stdout_visibility": "hidden", "tests": []}


# ---- inside Gradescope's container ----------------------------------------------------------
def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def run(root: Path, config_path: Path | None = None) -> dict[str, Any]:
    """Grade /autograder/submission (or root/submission) and write root/results/results.json."""
    from ..jail.judging import NotebookRun, judge_runs
    from .classgrade import GradingFailed, find_notebooks, grade_submission

    start = time.monotonic()
    results = root / "results" / "results.json"
    config_path = config_path or root / "source" / CONFIG_NAME
    course = config_path.parent / COURSE_FILE  # shipped by build_bundle next to the settings
    try:
        config = GradescopeConfig.from_json(json.loads(config_path.read_text()))
        use_riddle_file(course if course.is_file() else None)
    except (OSError, ValueError, TypeError, CourseRiddleError) as e:
        data = failure_json(f"The autograder is misconfigured ({e}); please tell your instructor.", 0.0)
        _write(results, data)
        return data
    submission = root / "submission"
    try:
        notebooks = find_notebooks(submission) if submission.is_dir() else []
        names = [p.relative_to(submission).as_posix() for p in notebooks][:config.limits.notebooks]
        if notebooks:
            answer = grade_submission("submission", notebooks, limits=config.limits)
        else:
            seen = sorted(p.relative_to(submission).as_posix() for p in submission.rglob("*") if p.is_file()) \
                if submission.is_dir() else []
            listing = ", ".join(seen[:10]) + (" ..." if len(seen) > 10 else "") if seen else "none"
            why = (f"no notebook (.ipynb file) was found in your submission (files received: {listing}); "
                   "upload your riddle notebook(s)")
            answer = judge_runs("submission", [NotebookRun("submission", error=why)], list(RIDDLES),
                                config.limits)
        data = results_json(answer, notebooks=names, seconds=time.monotonic() - start, config=config)
    except Exception as e:  # noqa: BLE001 - the grader broke (GradingFailed or a bug): say so, still write
        why = str(e) if isinstance(e, GradingFailed) else f"{type(e).__name__}: {e}"
        data = failure_json(f"The autograder failed ({why}). This is not a verdict on your notebook: "
                            "please submit again, or tell your instructor.", time.monotonic() - start)
    _write(results, data)
    return data


def root_from_env() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
