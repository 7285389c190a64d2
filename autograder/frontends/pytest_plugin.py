"""A pytest plugin: `pytest --submission PATH` grades a riddle notebook (or a folder of them).

It adds one test per riddle and one per graded n of `is_even_network`.  The first of them to
run grades the submission once, with `classgrade.grade_submission` (the fork-server worker and
jailed children of `riddles grade`, so the same scores); each test then reports its part of
that one answer.  A test fails with the riddle's report as its message (no traceback);
a size of `is_even_network` that was never checked is skipped with the reason.  Scores go
into each test's `user_properties` (so into JUnit XML) and a summary ends the run.

With `--submission` nothing else is collected (not the `tests/` of the project pytest runs in),
and the limits are those of every other front end (`autograder.core.limits`, flags prefixed
`--riddles-`).  Registered through the `pytest11` entry point.  Without `--submission` it only
adds its options: importing it loads no torch and no grader.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from ..core.answer import Answer, RiddleAnswer

GROUP = "neuron-riddles"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "grading a riddle notebook (neuron-riddles)")
    group.addoption("--submission", default=None, metavar="PATH",
                    help="grade this notebook, or every notebook under this folder, as one submission")
    from ..core.limits import add_arguments

    add_arguments(group, prefix="riddles-")
    group.addoption("--riddles-full-points", action="store_true",
                    help="a riddle's test passes only with all its points (exact and within the neuron budget)")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("submission")
    if path is None:
        return
    p = Path(path)
    if not p.exists():
        raise pytest.UsageError(f"--submission {path}: no such file or directory")
    if p.is_file() and p.suffix != ".ipynb":
        raise pytest.UsageError(f"--submission {path}: not a notebook (.ipynb) or a folder")
    from ..core.course_riddles import CourseRiddleError, find_course_root, use_course
    from ..core.limits import from_arguments

    try:
        limits = from_arguments(config.getoption, prefix="riddles-")
        # the course's own riddles: the course pytest runs in (never found from the submission)
        use_course(find_course_root(Path(config.invocation_params.dir)))
    except (ValueError, CourseRiddleError) as e:
        raise pytest.UsageError(str(e)) from None
    grader = SubmissionGrader(p, limits, full_points=config.getoption("riddles_full_points"))
    config.pluginmanager.register(grader, "neuron-riddles-grader")


class RiddleFailed(Exception):
    """A riddle (or one size of it) is not solved; the message is its report."""


class SubmissionGrader:
    """Grades the submission once, on first need, and hands each test its part."""

    def __init__(self, path: Path, limits: Any, full_points: bool = False) -> None:
        self.path, self.limits, self.full_points = path, limits, full_points
        self.wanted: list[str] = []
        self._answer: Answer | None = None
        self._failure = ""

    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool:
        """With --submission, the run is about the submission only: no test file is collected
        (not the `tests/` of the repository pytest runs in, nor the student's own)."""
        return True

    @pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so they apply to our tests too
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        """Collect the riddle tests through pytest's own collection hooks (so reporters count
        them), under one node named after the submission."""
        name = self.path.name or str(self.path)
        node = SubmissionNode.from_parent(session, name=name, nodeid=name, grader=self)
        node.ihook.pytest_collectstart(collector=node)
        report = node.ihook.pytest_make_collect_report(collector=node)
        node.ihook.pytest_collectreport(report=report)
        items += [x for x in report.result if isinstance(x, pytest.Item)]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """A size that was never checked is skipped: report it at the submission, not at the
        line of this plugin that raised the skip."""
        report = yield
        if isinstance(item, PartItem) and report.skipped and isinstance(report.longrepr, tuple):
            report.longrepr = (item.parent.name if item.parent else "", None, report.longrepr[2])
        return report

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        chosen = {it.riddle for it in session.items if isinstance(it, (RiddleItem, PartItem))}
        from ..core.riddles import RIDDLES

        self.wanted = [rid for rid in RIDDLES if rid in chosen]

    def answer(self) -> Answer:
        from .classgrade import GradingFailed, find_notebooks, grade_submission

        if self._answer is None and not self._failure:
            notebooks = [self.path] if self.path.is_file() else find_notebooks(self.path)
            if not notebooks:
                self._failure = f"no notebook (.ipynb) found under {self.path}"
            else:
                try:
                    self._answer = grade_submission(
                        self.path.stem or "submission", notebooks, limits=self.limits,
                        riddles=self.wanted or None)
                except GradingFailed as e:
                    self._failure = f"the grader failed: {e}"
        if self._failure:
            raise RiddleFailed(self._failure)
        assert self._answer is not None
        return self._answer

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self._answer is None:
            if self._failure:
                terminalreporter.write_sep("=", f"{GROUP}: not graded")
                from ..jail.sandbox import printable

                terminalreporter.write_line(printable(self._failure))
            return
        answer = self._answer
        terminalreporter.write_sep("=", f"{GROUP}: {answer.score:g} / {answer.max_score:g} points")
        for r in answer.riddles:
            terminalreporter.write_line(f"{r.id:<18} {r.status:<8} {r.score:g} / {r.max_score:g}")
        from ..jail.sandbox import printable

        for note in answer.notes:
            terminalreporter.write_line(f"note: {printable(str(note))}")  # one line each, whatever it holds


class SubmissionNode(pytest.Collector):
    """The submission: one test per riddle, and one per graded size of a riddle with several."""

    def __init__(self, *, grader: SubmissionGrader, **kw: Any) -> None:
        super().__init__(**kw)
        self.grader = grader

    def collect(self) -> list[pytest.Item]:
        from ..core.riddles import RIDDLES, instances

        out: list[pytest.Item] = []
        for rid, riddle in RIDDLES.items():
            out.append(RiddleItem.from_parent(self, name=rid, grader=self.grader, riddle=rid))
            graded = instances(riddle)
            if len(graded) > 1:
                out += [PartItem.from_parent(self, name=f"{rid}[n={inst.n}]", grader=self.grader, riddle=rid,
                                             n=inst.n) for inst in graded]
        return out


class _RiddleTest(pytest.Item):
    def __init__(self, *, grader: SubmissionGrader, riddle: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.grader, self.riddle = grader, riddle

    def _result(self) -> tuple[RiddleAnswer, tuple[str, ...]]:
        answer = self.grader.answer()
        result = answer.riddle(self.riddle)
        if result is None:
            raise RiddleFailed(f"{self.riddle} was not graded")
        return result, answer.notes

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, RiddleFailed):
            from ..jail.sandbox import printable_lines

            return printable_lines(str(excinfo.value))
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.grader.path, None, self.name


class RiddleItem(_RiddleTest):
    """One riddle: passes when the riddle is solved (with --riddles-full-points: with all its
    points, so also within the neuron budget)."""

    def runtest(self) -> None:
        result, notes = self._result()
        self.user_properties += [("score", result.score), ("max_score", result.max_score)]
        if not result.passed:
            from ..jail.sandbox import printable

            extra = "" if result.status == "fail" else "".join(f"\n  note: {printable(n)}" for n in notes)
            raise RiddleFailed(result.text + extra)
        if self.grader.full_points and result.score < result.max_score:
            raise RiddleFailed(result.text + "\n  (--riddles-full-points: exact, but short of all its points)")


class PartItem(_RiddleTest):
    """One graded size n of a riddle with several (is_even_network)."""

    def __init__(self, *, n: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.n = n

    def runtest(self) -> None:
        result, _ = self._result()
        part = result.part(self.n)
        if part is None:
            raise RiddleFailed(f"{self.riddle} at n = {self.n} was not graded")
        said = textwrap.fill(part.text, 88, initial_indent="  ", subsequent_indent="  ")
        if part.status == "unchecked":
            pytest.skip(part.text)
        if part.status != "pass":
            raise RiddleFailed(f"{self.riddle}({self.n}):\n{said}")
