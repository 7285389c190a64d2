"""`riddles check DIR`: one scoreboard for a whole course folder, as text or as an HTML page.

Each notebook is checked with the same sandboxed `check_notebook` as `riddles check FILE`;
each riddle is then taken from the first notebook (in path order) that defines it, the rule
`riddles grade` uses for a submission of several notebooks.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ..core.result import Report, RiddleResult, Totals, missing
from ..core.riddles import RIDDLES, instances
from .html import svg_figure
from .text import MARK

SKIP_PARTS = (".ipynb_checkpoints",)


@dataclass
class Scoreboard(Totals):
    """Every riddle of a course folder: its result and the notebook it was graded from."""

    title: str
    results: list[RiddleResult]
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Scoreboard({self.title!r}: {self.score:g}/{self.max_score:g})"


def course_notebooks(folder: Path) -> list[Path]:
    """The notebooks under `folder`, in path order, as `riddles grade` finds them: no hidden file
    or folder (Jupyter's checkpoint copies, .git), no symbolic link."""
    return sorted(p for p in folder.rglob("*.ipynb")
                  if p.is_file() and not p.is_symlink() and not any(
                      part in SKIP_PARTS or part.startswith(".") for part in p.relative_to(folder).parts))


def combine(title: str, reports: list[tuple[str, Report]], notes: list[str] | None = None) -> Scoreboard:
    """One result per riddle: the first notebook whose result is not 'missing' wins."""
    notes = list(notes or [])
    chosen: dict[str, RiddleResult] = {}
    sources: dict[str, str] = {}
    said: set[str] = set()  # riddles a notebook defines but leaves unanswered
    for name, report in reports:
        for r in report.results:
            rid = r.riddle.id
            if r.status == "missing":
                if rid not in sources and rid not in said and r.message != missing(r.riddle).message:
                    chosen[rid], sources[rid] = r, name
                    said.add(rid)
                else:
                    chosen.setdefault(rid, r)
            elif rid not in sources or rid in said:
                said.discard(rid)
                chosen[rid], sources[rid] = r, name
            else:
                notes.append(f"{rid} is defined in {sources[rid]} and in {name}: scored from {sources[rid]}")
    results = [chosen[rid] for rid in RIDDLES if rid in chosen]
    return Scoreboard(title, results, sources, notes)


def neurons_cell(r: RiddleResult) -> tuple[str, str, str]:
    """(neurons, proven minimum, budget) as shown; is_even_network at its largest checked n."""
    v = r.main
    if v is None:
        sizes = instances(r.riddle)
        if len(sizes) == 1:
            return "-", str(r.riddle.lower_bound), str(r.riddle.budget)
        return ("-", f"{sizes[0].lower_bound}..{sizes[-1].lower_bound}", f"{sizes[0].budget}..{sizes[-1].budget}")
    at = f" (n={v.riddle.n})" if v.riddle.n is not None else ""
    return f"{v.neurons}{at}", str(v.riddle.lower_bound), str(v.riddle.budget)


def remark(r: RiddleResult) -> str:
    """'optimal' where the count meets the proven minimum at every checked size."""
    if r.status != "pass":
        return ""
    if all(v.neurons <= v.riddle.lower_bound for v in r.verdicts):
        return "optimal"
    if all(v.neurons <= v.riddle.budget for v in r.verdicts):
        return "within budget"
    return "over budget"


def text(board: Scoreboard) -> str:
    head = ("riddle", "status", "points", "neurons", "minimum", "budget", "", "notebook")
    rows = [head]
    for r in board.results:
        n, lb, bud = neurons_cell(r)
        rows.append((r.riddle.id, MARK[r.status], f"{r.score:g}/{r.max_score:g}", n, lb, bud, remark(r),
                     board.sources.get(r.riddle.id, "-")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [f"Scoreboard: {board.title}", "=" * min(88, len("Scoreboard: ") + len(board.title))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append("")
    for r in board.results:
        if r.status != "pass":
            lines.append(f"{r.riddle.id}: {r.message}")
    lines += [f"note: {n}" for n in board.notes]
    lines.append(f"Total: {board.score:g} / {board.max_score:g}")
    return "\n".join(lines)


STYLE = ("body{font-family:sans-serif;max-width:64em;margin:1em auto;padding:0 1em}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
         "td.pass{color:#176317}td.fail,td.error{color:#b01c1c}td.missing{color:#777}"
         "section{border-left:4px solid #ccc;padding-left:1em;margin:1.2em 0}"
         "section.pass{border-color:#2a2}section.fail,section.error{border-color:#c22}")


def page(board: Scoreboard) -> str:
    """The scoreboard as a self-contained HTML page (inline SVG figures, no scripts).
    Everything that comes from files or student code is escaped, so it shows as text."""
    e = html.escape
    rows = []
    for r in board.results:
        n, lb, bud = neurons_cell(r)
        rows.append(f'<tr id="row-{e(r.riddle.id)}"><td><code>{e(r.riddle.id)}</code></td>'
                    f'<td class="{r.status}">{MARK[r.status]}</td><td>{r.score:g}/{r.max_score:g}</td>'
                    f"<td>{e(n)}</td><td>{e(lb)}</td><td>{e(bud)}</td><td>{e(remark(r))}</td>"
                    f"<td>{e(board.sources.get(r.riddle.id, '-'))}</td></tr>")
    sections = [f'<section class="{r.status}"><h2>{e(r.riddle.id)}: {e(r.riddle.title)}</h2>'
                f"<p>{e(r.message)}</p>{svg_figure(r)}</section>" for r in board.results]
    notes = "".join(f"<li>{e(n)}</li>" for n in board.notes)
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>Scoreboard: {e(board.title)}</title><style>{STYLE}</style></head><body>"
            f'<h1>Scoreboard: <span id="title">{e(board.title)}</span></h1>'
            f'<p id="total"><strong>Total: {board.score:g} / {board.max_score:g}</strong></p>'
            "<table><tr><th>riddle</th><th>status</th><th>points</th><th>neurons</th><th>proven minimum</th>"
            f"<th>budget</th><th></th><th>notebook</th></tr>{''.join(rows)}</table>"
            f"{''.join(sections)}{'<h2>Notes</h2><ul>' + notes + '</ul>' if notes else ''}</body></html>")
