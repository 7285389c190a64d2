"""HTML feedback for one student: each riddle's report with a small inline SVG figure.

SVG is written by hand (no matplotlib) so that a class of hundreds renders in milliseconds.
The page holds reports only, never test code.
"""

from __future__ import annotations

import html

import numpy as np

from .report import MARK, neurons_text
from .result import Report, RiddleResult, number_text

W, H, PAD = 360, 160, 28


def _scale(vals: list[float], lo_px: float, hi_px: float) -> tuple[float, float]:
    lo, hi = min(vals), max(vals)
    if hi == lo:
        hi = lo + 1
    return lo, (hi_px - lo_px) / (hi - lo)


def _line_chart(series: list[tuple[list[float], list[float], str, str]], title: str) -> str:
    xs = [x for s in series for x in s[0]]
    ys = [y for s in series for y in s[1] if np.isfinite(y)]
    x0, kx = _scale(xs, PAD, W - 8)
    y0, ky = _scale(ys or [0.0], PAD // 2, H - PAD)
    px = lambda x: PAD + (x - x0) * kx  # noqa: E731
    py = lambda y: H - PAD - (min(max(y, y0 - 1e9), 1e9) - y0) * ky  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="{html.escape(title)}">',
             f'<rect width="{W}" height="{H}" fill="white" stroke="#ccc"/>',
             f'<text x="{W / 2}" y="12" font-size="11" text-anchor="middle">{html.escape(title)}</text>']
    for sx, sy, color, style in series:
        pts = [(px(x), py(y)) for x, y in zip(sx, sy) if np.isfinite(y)]
        if style == "dots":
            parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2" fill="{color}"/>' for a, b in pts]
        elif style == "crosses":
            parts += [f'<path d="M{a - 3:.1f} {b - 3:.1f}l6 6m0 -6l-6 6" stroke="{color}" stroke-width="2"/>' for a, b in pts]
        else:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
            dash = ' stroke-dasharray="4 3"' if style == "dashed" else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"{dash}/>')
    parts.append(f'<text x="{PAD}" y="{H - 6}" font-size="10">{min(xs):g}</text>')
    parts.append(f'<text x="{W - 8}" y="{H - 6}" font-size="10" text-anchor="end">{max(xs):g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_figure(r: RiddleResult) -> str:
    """The riddle's figure as SVG, or '' when there is nothing to draw."""
    if not r.verdicts:
        return ""
    if r.riddle.id == "is_even_network":
        ns = [float(v.riddle.n or 0) for v in r.verdicts]
        return _line_chart([
            (ns, [float(v.riddle.budget) for v in r.verdicts], "#999", "dashed"),
            (ns, [float(v.riddle.lower_bound) for v in r.verdicts], "black", "line"),
            (ns, [float(v.neurons) for v in r.verdicts], "#1f77b4", "line"),
            ([float(v.riddle.n or 0) for v in r.verdicts if not v.exact],
             [float(v.neurons) for v in r.verdicts if not v.exact], "red", "crosses"),
        ], "neurons (blue) against n; proven minimum (black), budget (dashed)")
    v = r.verdicts[0]
    d = v.riddle.domains[0]
    if v.public_values is None:
        return ""
    if d.arity == 1:
        xs = np.arange(d.lo, d.hi + 1)
        want = np.asarray(v.riddle.target(xs), dtype=float)
        got = np.asarray(v.public_values, dtype=float)
        tol = float(v.riddle.tolerance or 0)
        bad = np.abs(got - want) > tol
        return _line_chart([(xs.tolist(), want.tolist(), "#bbb", "line"), (xs.tolist(), got.tolist(), "#1f77b4", "dots"),
                            (xs[bad].tolist(), got[bad].tolist(), "red", "crosses")],
                           "target (grey), your network (blue), wrong (red)")
    side = d.hi - d.lo + 1
    grid = np.arange(d.lo, d.hi + 1)
    wrong = np.asarray(v.public_values).reshape(side, side) != np.minimum.outer(grid, grid)
    block = -(-side // 50)  # at most 50 x 50 blocks, each red if any pair in it is wrong
    n = -(-side // block)
    padded = np.zeros((n * block, n * block), dtype=bool)
    padded[:side, :side] = wrong
    blocks = padded.reshape(n, block, n, block).any(axis=(1, 3))
    cell = 6
    rects = "".join(f'<rect x="{i * cell}" y="{(n - 1 - j) * cell}" width="{cell}" height="{cell}" fill="red"/>'
                    for i, j in zip(*np.nonzero(blocks)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{n * cell}" height="{n * cell + 14}" role="img" '
            f'aria-label="wrong points of the grid"><rect width="{n * cell}" height="{n * cell}" fill="#e8f4e8"/>'
            f'{rects}<text x="2" y="{n * cell + 11}" font-size="10">a across, b up; red: some pair wrong</text></svg>')


def feedback_html(student: str, report: Report, notes: list[str]) -> str:
    rows = []
    for r in report.results:
        ce = "".join(f"<tr><td>{html.escape(', '.join(map(str, c.input)))}</td>"
                     f"<td>{number_text(c.expected, c.got)}</td><td>{number_text(c.got, c.expected)}</td></tr>"
                     for c in r.counterexamples)
        table = f"<table><tr><th>input</th><th>expected</th><th>got</th></tr>{ce}</table>" if ce else ""
        main = r.main
        neurons = (f"<p>neurons {neurons_text(main)} · proven minimum {main.riddle.lower_bound} · budget "
                   f"{main.riddle.budget}</p>") if main else ""
        rows.append(f'<section class="{r.status}"><h2>{html.escape(r.riddle.id)}: {html.escape(r.riddle.title)} '
                    f"— {MARK[r.status]} {r.score:g}/{r.max_score:g}</h2><p>{html.escape(r.message)}</p>"
                    f"{neurons}{table}{svg_figure(r)}</section>")
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    notes_block = f"<h2>Notes on running your notebooks</h2><ul>{note_html}</ul>" if notes else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Riddles: {html.escape(student)}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto}section{border-left:4px solid #ccc;"
            "padding-left:1em;margin:1em 0}.pass{border-color:#2a2}.fail,.error{border-color:#c22}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
            f"<h1>Riddles feedback for {html.escape(student)}: {report.score:g} / {report.max_score:g}</h1>"
            f"{''.join(rows)}{notes_block}</body></html>")
