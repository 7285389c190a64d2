"""What a notebook is about, and when each of its riddles is judged (the grader's side).

The rule every front end follows: the code cells run in order; a cell that raises or runs past
the per-cell limit is interrupted and the run goes on with the next cell; each riddle is judged
on its function as defined when its turn comes:

* in a notebook with nbgrader riddle test cells (grade_id ``test_<riddle>``), its turn is its
  test cell, and the notebook is about exactly the riddles it has test cells for;
* a riddle whose answer cell (grade_id ``answer_<riddle>``) is there but whose test cell was
  deleted has its turn right after the answer cell: where ``nbgrader autograde`` puts the
  missing test cell back (``OverwriteCells.add_missing_cells``), so every front end grades it;
* in any other notebook, its turn is right after a cell that (re)defines it (so the last
  definition wins), and the notebook is about the riddles it defines.

`NotebookPlan` is read here, in the grader, from the notebook file; the sandboxed child gets
only the plain request (`NotebookPlan.request`) and captures each riddle at its turn
(`child.run_request`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.limits import Limits
from ..core.riddles import RIDDLES
from .child import clean_source
from .sandbox import read_cells

TEST_PREFIX = "test_"
ANSWER_PREFIX = "answer_"


def riddle_of_grade_id(gid: str) -> str | None:
    """`test_<riddle id>` -> the riddle id; None for any other grade id."""
    rid = gid[len(TEST_PREFIX):] if gid.startswith(TEST_PREFIX) else None
    return rid if rid in RIDDLES else None


def _nbgrader(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbg if isinstance(nbg, dict) else {}


def is_test_cell(cell: Any) -> bool:
    """An nbgrader test cell (graded, not a solution): its code is the instructor's, not run
    as the student's answer."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def riddle_of(cell: Any) -> str | None:
    """The riddle a cell tests, or None for any other cell."""
    return riddle_of_grade_id(str(_nbgrader(cell).get("grade_id", ""))) if is_test_cell(cell) else None


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(s for s in src if isinstance(s, str))


def defined_names(src: str) -> set[str]:
    """Names a cell binds at module level (def, class, assignment, import); for a cell that does
    not parse, the names it tries to `def` (so a broken answer cell still says what it is for)."""
    try:
        tree = ast.parse(clean_source(src))
    except (SyntaxError, ValueError):
        return set(re.findall(r"^\s*def\s+([A-Za-z_]\w*)", src, flags=re.M))
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
                if target is not None:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            for attr in ("body", "orelse", "finalbody"):
                visit(getattr(node, attr, []) or [])
            for handler in getattr(node, "handlers", []) or []:
                visit(handler.body)

    visit(tree.body)
    return names


@dataclass
class NotebookPlan:
    """A notebook as the grader runs it: its code cells (test cells left out), where each
    riddle's turn is, and which riddles it is about."""

    name: str
    cells: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # each cell's number among the notebook's code cells
    turns: dict[str, int] = field(default_factory=dict)  # riddle -> index of the cell it is judged before
    defines: list[str] = field(default_factory=list)  # riddles a cell binds
    definers: dict[str, list[int]] = field(default_factory=dict)  # riddle -> numbers of the cells binding it

    @property
    def tested(self) -> bool:
        """Does the notebook carry nbgrader riddle test cells (then they alone set the turns)?"""
        return bool(self.turns)

    @property
    def about(self) -> list[str]:
        """The riddles this notebook is about, in the riddles' order."""
        mine = set(self.turns) if self.tested else set(self.defines)
        return [rid for rid in RIDDLES if rid in mine]

    def request(self, limits: Limits, riddles: list[str] | None = None) -> dict[str, Any]:
        """The plain request a sandboxed child runs (`child.run_request`)."""
        return {"cells": self.cells, "numbers": self.numbers, "turns": self.turns,
                "riddles": riddles if riddles is not None else list(RIDDLES), **limit_fields(limits)}

    def entry(self) -> dict[str, Any]:
        """This notebook in a submission's request (`submission.judge_request`)."""
        return {"name": self.name, "cells": self.cells, "numbers": self.numbers, "turns": self.turns,
                "about": self.about, "definers": self.definers}

    def __repr__(self) -> str:
        return f"NotebookPlan({self.name!r}: {len(self.cells)} cells, about {self.about})"


def limit_fields(limits: Limits) -> dict[str, Any]:
    """The limits in a request: whole (for judging) and as the sandbox and the fork server read them."""
    return {"limits": limits.to_json(), "timeout": limits.notebook, "cell_timeout": limits.cell,
            "call_timeout": limits.call, "memory": limits.memory_bytes}


def plan_cells(cells: list[Any], name: str = "notebook") -> NotebookPlan:
    """The plan of a notebook given as its list of cells (nbformat nodes or plain dicts)."""
    plan = NotebookPlan(name)
    number = 0
    answers: dict[str, int] = {}  # riddle -> the cell after its answer cell
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        rid = riddle_of(cell)
        if rid is not None:
            plan.turns.setdefault(rid, len(plan.cells))
            continue
        if is_test_cell(cell):
            continue  # another graded test cell (not a riddle's): instructor code, not an answer
        src = _source(cell)
        plan.cells.append(src)
        plan.numbers.append(number)
        gid = str(_nbgrader(cell).get("grade_id", ""))
        if _nbgrader(cell).get("solution") and gid.startswith(ANSWER_PREFIX) and gid[len(ANSWER_PREFIX):] in RIDDLES:
            answers.setdefault(gid[len(ANSWER_PREFIX):], len(plan.cells))
        for rid in sorted(defined_names(src) & set(RIDDLES)):
            plan.definers.setdefault(rid, []).append(number)
            if rid not in plan.defines:
                plan.defines.append(rid)
    for rid, after in answers.items():  # a deleted test cell: nbgrader puts it back after the answer
        plan.turns.setdefault(rid, after)
    return plan


def read_plan(path: str | Path, name: str | None = None) -> NotebookPlan:
    """The plan of a notebook file (never through a symlink), or UnusableInput with a
    one-line reason."""
    p = Path(path)
    return plan_cells(read_cells(p), name or p.name)
