"""Is every registered riddle complete?  A reference answer, a notebook cell, a proof entry.

Every list of riddles here comes from the registry: adding a riddle to `autograder/core/riddles.py`
without its reference answer (a function named like it in solutions/reference.py), its
answer and test cells in a source notebook, or the section of docs/theory.md its `theory`
field names, fails one of these tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder import check_function
from autograder.core.riddles import RIDDLES, Riddle, instances
from solutions import reference as R

ROOT = Path(__file__).resolve().parents[1]
IDS = list(RIDDLES)


def _cells() -> list[tuple[str, dict[str, object]]]:
    out = []
    for path in sorted((ROOT / "source" / "riddles").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            out.append((cell.source, cell.metadata.get("nbgrader", {})))
    return out


def _sections() -> dict[str, str]:
    """docs/theory.md: heading text (without the #s) -> the text up to the next heading of
    the same or a higher level."""
    lines = (ROOT / "docs" / "theory.md").read_text(encoding="utf-8").splitlines()
    heads = [(i, len(m.group(1)), m.group(2).strip()) for i, line in enumerate(lines)
             if (m := re.match(r"(#+)\s+(.*)", line))]
    out = {}
    for k, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[k + 1:] if lv <= level), len(lines))
        out[title] = "\n".join(lines[i + 1:end])
    return out


@pytest.mark.parametrize("rid", IDS)
def test_every_riddle_has_a_reference_answer_that_earns_every_point(rid: str) -> None:
    fn = R.answer(rid)
    assert fn is not None, f"solutions/reference.py has no function {rid}() (the riddle's reference answer)"
    result = check_function(fn, rid)
    assert result.status == "pass", result.message
    assert result.score == result.max_score, result.message


@pytest.mark.parametrize("rid", IDS)
def test_every_riddle_has_its_cells_in_a_source_notebook(rid: str) -> None:
    cells = _cells()
    tests = [meta for _, meta in cells if meta.get("grade_id") == f"test_{rid}"]
    assert len(tests) == 1, f"source/riddles/ needs exactly one test cell test_{rid}, found {len(tests)}"
    assert tests[0].get("grade") and tests[0].get("points") == RIDDLES[rid].points.total
    answers = [src for src, meta in cells if meta.get("solution") and re.search(rf"^def {rid}\(", src, re.MULTILINE)]
    assert answers, f"source/riddles/ has no solution cell defining {rid}()"


@pytest.mark.parametrize("rid", IDS)
def test_every_riddle_names_its_proof_in_the_theory_page(rid: str) -> None:
    spec = RIDDLES[rid]
    assert spec.theory, f"{rid} names no section of docs/theory.md (Riddle.theory)"
    sections = _sections()
    assert spec.theory in sections, f"docs/theory.md has no heading {spec.theory!r} ({rid}'s proof)"
    assert f"`{rid}`" in sections[spec.theory], f"the section {spec.theory!r} does not name `{rid}`"


def test_the_registry_is_every_riddle_the_reference_module_answers() -> None:
    """A reference answer without a riddle is a riddle someone forgot to register."""
    assert set(R.answers()) == set(RIDDLES)


def test_sizes_are_a_kind_of_spec() -> None:
    """A riddle with sizes is graded once per size, each instance a plain riddle of its own."""
    sized = [spec for spec in RIDDLES.values() if spec.sizes]
    assert sized, "the registry has a riddle with sizes (is_even_network)"
    for spec in sized:
        graded = instances(spec)
        assert [inst.n for inst in graded] == list(spec.sizes)
        assert all(isinstance(inst, Riddle) and not inst.sizes and inst.domains for inst in graded)
        assert all(inst.signature == f"{spec.id}({inst.n})" for inst in graded)
        assert spec.bound_text and spec.budget_text  # what the rules table says for it
    assert all(instances(spec) == [spec] for spec in RIDDLES.values() if not spec.sizes)


def test_the_readme_layout_names_every_module_in_its_folder() -> None:
    """The README's layout section must match the folders (no module left out or misplaced)."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    for folder in ("core", "jail", "render", "frontends"):
        start = layout.index(f"`autograder/{folder}/`")
        end = min((layout.index(f"`autograder/{o}/`", start + 1) for o in ("jail", "render", "frontends")
                   if f"`autograder/{o}/`" in layout[start + 1:]), default=len(layout))
        section = layout[start:end]
        for module in sorted((root / "autograder" / folder).glob("*.py")):
            if module.name != "__init__.py":
                assert f"`{module.name}`" in section, f"README layout: {folder}/{module.name} is not named"
