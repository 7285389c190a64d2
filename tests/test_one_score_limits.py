"""One set of limits, stated where students read them, used by every front end (fast checks)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.core import limits as limits_mod
from autograder.core.limits import DEFAULT, Limits
from autograder.core.riddles import RIDDLES
from autograder.frontends.gradescope import GradescopeConfig
from autograder.frontends.nbgrader_cells import graded_cell_source, rules_markdown
from autograder.jail.plan import defined_names, plan_cells, riddle_of
from solutions.submissions import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]


def _secs(v: float) -> str:
    return f"{v:g} s"


def test_the_students_guide_states_the_default_limits() -> None:
    text = " ".join((ROOT / "docs" / "students.md").read_text().split())
    for value in (DEFAULT.cell, DEFAULT.notebook, DEFAULT.call):
        assert f"**{_secs(value)}**" in text


@pytest.mark.parametrize("folder", ["source", "assignments"])
def test_every_notebook_states_the_rules_limits_budgets_and_formula(folder: str) -> None:
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / folder / "riddles" / f"{name}.ipynb", as_version=4)
        rules = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("rules_")]
        assert len(rules) == 1 and rules[0].source == rules_markdown(), f"{folder}/{name}: rewrite the rules cell"
        assert "budget ÷ neurons, capped at 1" in rules[0].source and DEFAULT.sentence() in rules[0].source
        for spec in RIDDLES.values():
            assert f"`{spec.signature}`" in rules[0].source


def test_instructor_test_cells_self_test_visibly_and_grade_hidden() -> None:
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "source" / "riddles" / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            rid = riddle_of(cell)
            if rid:
                assert cell.source == graded_cell_source(rid)
                visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
                assert f'self_test(globals().get("{rid}"), "{rid}")' in visible


def test_nbgrader_config_uses_the_default_limits() -> None:
    code = ("from traitlets.config import Config\n"
            "ns = {'get_config': lambda: c, '__file__': 'nbgrader_config.py'}\nc = Config()\n"
            "exec(open('nbgrader_config.py').read(), ns)\n"
            "print(c.Execute.timeout, c.RiddleScores.timeout, c.RiddleScores.call_timeout)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(int(DEFAULT.cell)), str(DEFAULT.notebook), str(DEFAULT.call)]


def test_riddle_scores_takes_its_per_cell_limit_from_nbgrader_execute() -> None:
    from traitlets.config import Config

    from autograder.frontends.nbgrader_plugin import RiddleScores

    config = Config()
    config.Execute.timeout = 7
    config.RiddleScores.timeout = 50.0
    assert RiddleScores(config=config).limits == Limits(cell=7, notebook=50, call=DEFAULT.call)


def test_every_front_end_defaults_to_the_same_limits() -> None:
    cfg = GradescopeConfig()
    assert cfg.limits == DEFAULT
    parser = argparse.ArgumentParser()
    limits_mod.add_arguments(parser)
    assert limits_mod.from_arguments(lambda d: getattr(parser.parse_args([]), d)) == DEFAULT
    args = parser.parse_args(["--cell-timeout", "5", "--timeout", "20", "--call-timeout", "2", "--memory", "1"])
    assert limits_mod.from_arguments(lambda d: getattr(args, d)) == Limits(5, 20, 2, 1)
    for cmd in (["check"], ["grade"], ["gradescope", "build"]):
        out = subprocess.run([sys.executable, "-m", "autograder.frontends.cli", *cmd, "--help"],
                             capture_output=True, text=True, check=True).stdout
        assert "--cell-timeout" in out and f"(default {DEFAULT.notebook:g})" in " ".join(out.split())


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "3", True])
def test_a_bad_limit_is_refused_with_its_name(bad: object) -> None:
    with pytest.raises(ValueError, match="cell limit"):
        Limits(cell=bad)  # type: ignore[arg-type]


def test_a_notebook_is_about_its_test_cells_or_what_it_defines() -> None:
    nb = nbformat.read(ROOT / "source" / "riddles" / "02-minimum.ipynb", as_version=4)
    plan = plan_cells(nb.cells)
    assert plan.about == ["min_network"] and list(plan.turns) == ["min_network"]
    # its turn is the test cell: the answer cells before it run first
    answer = next(i for i, src in enumerate(plan.cells) if "def min_network" in src)
    assert plan.turns["min_network"] == answer + 2  # the answer cell, then the check(...) cell
    plain = plan_cells([nbformat.v4.new_code_cell("import torch\ndef lt10_relu():\n    pass"),
                        nbformat.v4.new_code_cell("def is_even_16(:\n  broken")])
    assert plain.about == ["lt10_relu", "is_even_16"] and not plain.turns
    assert plain.definers == {"lt10_relu": [1], "is_even_16": [2]}


def test_defined_names_sees_module_level_bindings_only() -> None:
    src = "from m import lt10_relu as other\nif True:\n    min_network = f\ndef g():\n    is_even_16 = 1\n%time x = 1"
    # the magic line is commented out before parsing, so `x` is not bound
    assert defined_names(src) == {"other", "min_network", "g"}


def test_the_rules_sentence_names_every_limit() -> None:
    words = Limits(cell=1, notebook=2, call=3).sentence()
    assert re.search(r"each cell may run 1 s.*whole notebook 2 s.*riddle function 3 s", words)


def test_the_notebook_count_is_a_limit_like_the_others() -> None:
    parser = argparse.ArgumentParser()
    limits_mod.add_arguments(parser)
    args = parser.parse_args(["--max-notebooks", "2"])
    assert limits_mod.from_arguments(lambda d: getattr(args, d)) == Limits(notebooks=2)
    with pytest.raises(ValueError, match="notebooks limit must be a positive whole number"):
        Limits(notebooks=2.5)  # type: ignore[arg-type]
    only = argparse.ArgumentParser()
    limits_mod.add_arguments(only, names=limits_mod.PER_NOTEBOOK)
    assert "--max-notebooks" not in only.format_help()  # `riddles check` grades notebooks, not submissions
    cfg = GradescopeConfig(limits=Limits(cell=9, notebooks=3))
    assert GradescopeConfig.from_json(cfg.to_json()) == cfg


def test_a_submission_with_more_notebooks_than_the_limit_names_the_rest(tmp_path: Path) -> None:
    from autograder.frontends.classgrade import Submission, build_request

    paths = []
    for i in range(4):
        p = tmp_path / f"nb{i}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), p)
        paths.append(p)
    request = build_request(Submission("s", paths), Limits(notebooks=2))
    names = [nb["name"] for nb in request["notebooks"]]
    assert names[:2] == ["nb0.ipynb", "nb1.ipynb"] and "nb2.ipynb, nb3.ipynb" in names[2]
    assert "only the first 2 notebooks" in request["notebooks"][2]["error"]
    assert Limits.from_json(request["limits"]) == Limits(notebooks=2)
