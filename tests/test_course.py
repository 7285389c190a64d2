"""The course for real: nbgrader generate/autograde/feedback/export, and notebooks run in kernels."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.core.riddles import RIDDLES
from solutions.course import ASSIGNMENT, copy_course, nbgrader, repo_root, scores
from solutions.submissions import MISTAKES, NOTEBOOKS, make_submission, reference_answers

pytestmark = pytest.mark.slow
ROOT = repo_root()
AUTO_TOTAL = sum(r.points.total for r in RIDDLES.values())
STUDENTS = ("alice", "bob", "carol", "dave", "mallory", "trent", "eve")

PATCHES = '''
import numpy, torch, autograder, autograder.frontends.nbgrader_cells, autograder.core.checker
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
autograder.check = lambda *a, **k: None
autograder.frontends.nbgrader_cells.riddle_test = lambda *a, **k: 99.0
autograder.core.checker.check_function = lambda *a, **k: None
'''


def _normalized(path: Path) -> list[tuple]:  # type: ignore[type-arg]
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]), json.dumps(c.get("metadata", {}).get("nbgrader"), sort_keys=True))
            for c in nb["cells"]]


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course with a sample class, autograded, with feedback and an export."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    release = course / "assignments" / ASSIGNMENT
    ref = reference_answers(course / "source" / ASSIGNMENT)
    sub = course / "submitted"
    make_submission(release, sub / "alice" / ASSIGNMENT, ref)
    make_submission(release, sub / "bob" / ASSIGNMENT, {})
    make_submission(release, sub / "carol" / ASSIGNMENT,
                    {**ref, "answer_lt10_relu": MISTAKES["answer_lt10_relu"],
                     "answer_is_even_16": MISTAKES["answer_is_even_16"],
                     "answer_is_even_16_sequential": MISTAKES["answer_is_even_16_sequential"]})
    # dave: reference answers, but edits one test cell and deletes another
    dave = make_submission(release, sub / "dave" / ASSIGNMENT, ref)
    nb = nbformat.read(dave / "01-less-than-ten.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_lt10_relu":
            cell.source = "print('all good')\n3.0"
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_lt10_sigmoid"]
    nbformat.write(nb, dave / "01-less-than-ten.ipynb")
    # mallory patches the grader inside her kernel, with and without answers
    cheats = {name: [PATCHES] for name in NOTEBOOKS}
    first = {name: PATCHES for name in NOTEBOOKS}
    make_submission(release, sub / "mallory" / ASSIGNMENT, {}, prepend=first)
    make_submission(release, sub / "trent" / ASSIGNMENT, ref, prepend=first, extra_cells=cheats)
    # eve's is_even_16 never returns
    looping = ref["answer_is_even_16"].replace('"""Exactly x mod 2 on the integers 0..15."""',
                                               '"""Loops."""\n    while True:\n        pass')
    make_submission(release, sub / "eve" / ASSIGNMENT, {**ref, "answer_is_even_16": looping})
    nbgrader(course, "autograde", ASSIGNMENT, "--Execute.timeout=30", "--RiddleScores.call_timeout=5")
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "export")
    assert sorted(p.name for p in sub.iterdir()) == sorted(STUDENTS)
    return course


def _auto(course: Path) -> dict[str, float]:
    return {s: sum(v for k, v in row.items() if k.startswith("test_")) for s, row in scores(course).items()}


def test_released_notebooks_match_a_fresh_generate_assignment(course: Path) -> None:
    for name in NOTEBOOKS:
        committed = ROOT / "assignments" / ASSIGNMENT / f"{name}.ipynb"
        fresh = course / "assignments" / ASSIGNMENT / f"{name}.ipynb"
        assert _normalized(committed) == _normalized(fresh), f"{name}: run `make release` and commit"


def test_release_hides_solutions_and_hidden_tests(course: Path) -> None:
    for name in NOTEBOOKS:
        text = (course / "assignments" / ASSIGNMENT / f"{name}.ipynb").read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "riddle_test" not in text
        assert "BEGIN SOLUTION" not in text and "NotImplementedError" in text


def test_reference_answers_get_full_automatic_marks(course: Path) -> None:
    assert _auto(course)["alice"] == AUTO_TOTAL


def test_an_untouched_release_scores_zero_without_crashing(course: Path) -> None:
    assert _auto(course)["bob"] == 0


def test_a_mix_gets_partial_credit(course: Path) -> None:
    lost = sum(RIDDLES[rid].points.total for rid in ("lt10_relu", "is_even_16", "is_even_16_sequential"))
    assert _auto(course)["carol"] == AUTO_TOTAL - lost
    assert scores(course)["carol"]["test_is_even_16_sequential"] == 0  # its residual fold is refused
    assert scores(course)["alice"]["test_is_even_16_sequential"] == RIDDLES["is_even_16_sequential"].points.total


def test_edited_or_deleted_test_cells_change_nothing(course: Path) -> None:
    assert scores(course)["dave"] == scores(course)["alice"]


def test_patching_the_grader_in_the_kernel_gains_nothing(course: Path) -> None:
    auto = _auto(course)
    assert auto["mallory"] == auto["bob"] == 0
    assert auto["trent"] == auto["alice"]


def test_an_infinite_loop_is_cut_off_and_the_rest_graded(course: Path) -> None:
    row = scores(course)["eve"]
    assert row["test_is_even_16"] == 0
    assert _auto(course)["eve"] == AUTO_TOTAL - RIDDLES["is_even_16"].points.total


def test_written_answers_wait_for_manual_grading(course: Path) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(ASSIGNMENT, "alice")
        assert sub.needs_manual_grade


def test_graded_test_cells_have_report_figure_and_score_and_no_stderr(course: Path) -> None:
    nb = nbformat.read(course / "autograded" / "alice" / ASSIGNMENT / "03-is-even.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    assert [c.metadata.nbgrader.grade_id for c in cells] == [
        "test_is_even_16", "test_is_even_16_sequential", "test_is_even_network"]
    for cell in cells:
        kinds = [o.output_type for o in cell.outputs]
        assert kinds == ["stream", "display_data", "execute_result"]
        assert cell.outputs[0].name == "stdout" and "PASS" in cell.outputs[0].text
        assert "image/png" in cell.outputs[1].data


def test_feedback_shows_reports_but_never_hidden_tests(course: Path) -> None:
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == 3 * len(STUDENTS)
    for page in pages:
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        # students' own cells may mention riddle_test (the cheats do); the hidden test code may not appear
        assert "BEGIN HIDDEN TESTS" not in text
        assert 'riddle_test(globals()' not in text and "import riddle_test" not in text
    alice = (course / "feedback" / "alice" / ASSIGNMENT / "03-is-even.html").read_text()
    assert "PASS 5/5" in alice and "proven minimum" in alice and "data:image/png" in alice
    carol = (course / "feedback" / "carol" / ASSIGNMENT / "03-is-even.html").read_text()
    assert "remainder" in carol
    assert "SkipConnection at cell" in carol  # her is_even_16_sequential is a residual fold


def test_export_writes_one_row_per_student(course: Path) -> None:
    rows = (course / "grades.csv").read_text().strip().splitlines()
    assert rows[0].startswith("assignment,")
    assert len(rows) == 1 + len(STUDENTS)
    alice = next(r for r in rows if ",alice," in r).split(",")
    assert float(alice[7]) == AUTO_TOTAL


def _execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def _self_checks(nb: nbformat.NotebookNode) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells
            if c.cell_type == "code" and c.source.startswith("check(")]


def test_released_notebooks_with_reference_answers_pass_every_self_check(tmp_path: Path) -> None:
    ref = reference_answers(ROOT / "source" / ASSIGNMENT)
    folder = make_submission(ROOT / "assignments" / ASSIGNMENT, tmp_path, ref)
    for name in NOTEBOOKS:
        nb = _execute(folder / f"{name}.ipynb")
        checks = _self_checks(nb)
        assert checks and all("PASS" in c for c in checks), name
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
        assert errors == [], name


def test_untouched_released_notebooks_say_not_implemented_and_run_to_the_end(tmp_path: Path) -> None:
    folder = make_submission(ROOT / "assignments" / ASSIGNMENT, tmp_path, {})
    for name in NOTEBOOKS:
        nb = _execute(folder / f"{name}.ipynb")
        checks = _self_checks(nb)
        assert checks and all("not implemented yet" in c for c in checks), name
        last = [c for c in nb.cells if c.cell_type == "code"][-1]
        assert last.get("execution_count") is not None  # the run reached the end


def test_instructor_hidden_tests_print_only_to_stdout_and_end_with_the_score(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    for name in NOTEBOOKS:
        nb = _execute(ROOT / "source" / ASSIGNMENT / f"{name}.ipynb")
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if not gid.startswith("test_"):
                continue
            assert all(o.output_type != "error" and o.get("name") != "stderr" for o in cell.outputs), gid
            result = [o for o in cell.outputs if o.output_type == "execute_result"]
            assert float(result[0].data["text/plain"]) == cell.metadata["nbgrader"]["points"], gid


def test_test_cell_points_match_the_riddle_specs() -> None:
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if gid.startswith("test_"):
                assert cell.metadata["nbgrader"]["points"] == RIDDLES[gid[5:]].points.total
