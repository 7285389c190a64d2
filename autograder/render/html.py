"""HTML feedback for one student: each riddle's report with a small inline SVG figure.

SVG is written by hand (no matplotlib) so that a class of hundreds renders in milliseconds.
The page holds reports only, never test code.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..core.result import Report, RiddleResult
from ..core.verify import exact_text
from .text import MARK, neurons_text

W, H = 380, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 10, 34
"""The plot area is the box inside these margins; tick labels and axis names live in the
margins and the caption below the picture, so no text is drawn over the data."""


def _scale(vals: list[float], lo_px: float, hi_px: float) -> tuple[float, float]:
    lo, hi = min(vals), max(vals)
    if hi == lo:
        hi = lo + 1
    return lo, (hi_px - lo_px) / (hi - lo)


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _axes(x_lo: float, x_hi: float, y_lo: float, y_hi: float, x_name: str, y_name: str) -> list[str]:
    """Frame, end ticks and axis names, all outside the plot area."""
    x1, y1 = W - RIGHT, H - BOTTOM
    return [f'<rect x="{LEFT}" y="{TOP}" width="{x1 - LEFT}" height="{y1 - TOP}" fill="none" stroke="#999"/>',
            f'<text x="{LEFT}" y="{y1 + 13}" font-size="10" text-anchor="start">{x_lo:g}</text>',
            f'<text x="{x1}" y="{y1 + 13}" font-size="10" text-anchor="end">{x_hi:g}</text>',
            f'<text x="{(LEFT + x1) / 2}" y="{H - 4}" font-size="10" text-anchor="middle">{html.escape(x_name)}</text>',
            f'<text x="{LEFT - 4}" y="{y1}" font-size="10" text-anchor="end">{y_lo:g}</text>',
            f'<text x="{LEFT - 4}" y="{TOP + 9}" font-size="10" text-anchor="end">{y_hi:g}</text>',
            f'<text x="10" y="{(TOP + y1) / 2}" font-size="10" text-anchor="middle" '
            f'transform="rotate(-90 10 {(TOP + y1) / 2})">{html.escape(y_name)}</text>']


def _line_chart(series: list[tuple[list[float], list[float], str, str]], caption: str,
                x_name: str = "x", y_name: str = "output") -> str:
    xs = [x for s in series for x in s[0]]
    ys = [y for s in series for y in s[1] if np.isfinite(y)]
    x0, kx = _scale(xs, LEFT + 4, W - RIGHT - 4)
    y0, ky = _scale(ys or [0.0], TOP + 4, H - BOTTOM - 4)
    px = lambda x: LEFT + 4 + (x - x0) * kx  # noqa: E731
    py = lambda y: H - BOTTOM - 4 - (min(max(y, y0 - 1e9), 1e9) - y0) * ky  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" '
             f'aria-label="{html.escape(caption)}">', f'<rect width="{W}" height="{H}" fill="white"/>']
    parts += _axes(min(xs), max(xs), min(ys or [0.0]), max(ys or [0.0]), x_name, y_name)
    for sx, sy, color, style in series:
        pts = [(px(x), py(y)) for x, y in zip(sx, sy) if np.isfinite(y)]
        if style == "dots":
            parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2" fill="{color}"/>' for a, b in pts]
        elif style == "crosses":
            parts += [f'<path d="M{a - 3:.1f} {b - 3:.1f}l6 6m0 -6l-6 6" stroke="{color}" stroke-width="2"/>'
                      for a, b in pts]
        else:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
            dash = ' stroke-dasharray="4 3"' if style == "dashed" else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"{dash}/>')
    parts.append("</svg>")
    return _figure("".join(parts), caption)


def _grid_map(wrong: np.ndarray, lo: int, hi: int, caption: str, outline: tuple[int, int] | None = None,
              names: tuple[str, ...] = ("a", "b")) -> str:
    """A square map of a grid of pairs: red where some pair is wrong, green elsewhere."""
    n = wrong.shape[0]
    cell = max(2, min(6, 300 // max(n, 1)))
    side = n * cell
    rects = "".join(f'<rect x="{LEFT + i * cell}" y="{TOP + (n - 1 - j) * cell}" width="{cell}" height="{cell}" '
                    'fill="#d22"/>' for i, j in zip(*np.nonzero(wrong)))
    box = ""
    if outline is not None:
        a, b = ((v - lo) / (hi - lo + 1) * side for v in outline)
        box = (f'<rect x="{LEFT + a:.1f}" y="{TOP + side - b:.1f}" width="{max(b - a, 1):.1f}" '
               f'height="{max(b - a, 1):.1f}" fill="none" stroke="black"/>')
    w, h = LEFT + side + RIGHT, TOP + side + BOTTOM
    labels = (f'<text x="{LEFT}" y="{TOP + side + 13}" font-size="10">{lo}</text>'
              f'<text x="{LEFT + side}" y="{TOP + side + 13}" font-size="10" text-anchor="end">{hi}</text>'
              f'<text x="{LEFT + side / 2}" y="{h - 4}" font-size="10" text-anchor="middle">'
              f'{html.escape(names[0])}</text>'
              f'<text x="{LEFT - 4}" y="{TOP + side}" font-size="10" text-anchor="end">{lo}</text>'
              f'<text x="{LEFT - 4}" y="{TOP + 9}" font-size="10" text-anchor="end">{hi}</text>'
              f'<text x="10" y="{TOP + side / 2}" font-size="10">{html.escape(names[1])}</text>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
           f'aria-label="{html.escape(caption)}"><rect x="{LEFT}" y="{TOP}" width="{side}" height="{side}" '
           f'fill="#dfd"/>{rects}{box}{labels}</svg>')
    return _figure(svg, caption)


def figures(r: RiddleResult) -> list[dict[str, Any]]:
    """The riddle's figures as plain data: what to draw, not how.  They are stored with the grade
    and drawn by `svg` when a page is written, so a change of drawing needs no regrading."""
    if not r.verdicts:
        return []
    if r.riddle.sizes:
        vs = [v for v in r.verdicts if not v.refused]
        if not vs:
            return []
        ns = [float(v.riddle.n or 0) for v in vs]
        return [_chart([
            (ns, [float(v.riddle.budget) for v in vs], "#999", "dashed"),
            (ns, [float(v.riddle.lower_bound) for v in vs], "black", "line"),
            (ns, [float(v.neurons) for v in vs], "#1f77b4", "line"),
            ([float(v.riddle.n or 0) for v in vs if not v.exact],
             [float(v.neurons) for v in vs if not v.exact], "red", "crosses"),
        ], "Neurons of your network (blue) against n; proven minimum (black), budget (dashed); "
           "red crosses: not exact.", x_name="n", y_name="neurons")]
    v = r.verdicts[0]
    d = v.riddle.domains[0]
    extra = _failing_grid(r)
    if v.public_values is None:
        return extra
    if d.arity == 1:
        xs = np.arange(d.lo, d.hi + 1)
        want = np.asarray(v.riddle.target(xs), dtype=float)
        got = np.asarray(v.public_values, dtype=float)
        tol = float(v.riddle.tolerance or 0)
        bad = np.abs(got - want) > tol
        return [_chart([(xs.tolist(), want.tolist(), "#bbb", "line"),
                        (xs.tolist(), got.tolist(), "#1f77b4", "dots"),
                        (xs[bad].tolist(), got[bad].tolist(), "red", "crosses")],
                       f"On {d.describe()}: target {v.riddle.target_label} (grey), your network (blue), "
                       "wrong (red).", x_name=v.riddle.input_names[0])] + extra
    if d.arity != 2:
        return extra  # no picture of more than two inputs
    side = d.hi - d.lo + 1
    a, b = np.meshgrid(np.arange(d.lo, d.hi + 1), np.arange(d.lo, d.hi + 1), indexing="ij")
    wrong = np.asarray(v.public_values).reshape(side, side) != np.asarray(v.riddle.target(a, b))
    block = -(-side // 50)  # at most 50 x 50 blocks, each red if any pair in it is wrong
    n = -(-side // block)
    padded = np.zeros((n * block, n * block), dtype=bool)
    padded[:side, :side] = wrong
    blocks = padded.reshape(n, block, n, block).any(axis=(1, 3))
    return [_grid(blocks, d.lo, d.hi, f"The public grid {d.describe()}: red where your network is "
                                      f"wrong about {v.riddle.target_label}, green where it is right.",
                  names=v.riddle.input_names)] + extra


def _chart(series: list[tuple[list[float], list[float], str, str]], caption: str,
           x_name: str = "x", y_name: str = "output") -> dict[str, Any]:
    return {"kind": "chart", "series": [[list(map(float, xs)), list(map(float, ys)), color, style]
                                        for xs, ys, color, style in series],
            "caption": caption, "x_name": x_name, "y_name": y_name}


def _grid(wrong: np.ndarray, lo: int, hi: int, caption: str, outline: tuple[int, int] | None = None,
          names: tuple[str, ...] = ("a", "b")) -> dict[str, Any]:
    return {"kind": "grid", "wrong": np.asarray(wrong, dtype=bool).astype(int).tolist(), "lo": lo, "hi": hi,
            "caption": caption, "outline": list(outline) if outline else None, "names": list(names)}


def _failing_grid(r: RiddleResult) -> list[dict[str, Any]]:
    """The domain the network fails on, when it is not the public one (from `RiddleResult.grid`)."""
    g = r.grid
    if not g:
        return []
    axis = np.asarray(g["axis"], dtype=float)
    wrong = np.asarray(g["wrong"], dtype=bool)
    pub = r.riddle.domains[0]
    if g["arity"] == 2:
        return [_grid(wrong.reshape(len(axis), len(axis)), g["lo"], g["hi"],
                      f"Where it fails: {g['domain']} on evenly spaced pairs, red where your network is wrong; "
                      "the black square is the public grid.", outline=(pub.lo, pub.hi), names=r.riddle.input_names)]
    return [_chart([(axis[~wrong].tolist(), [0.0] * int((~wrong).sum()), "#2a2", "dots"),
                    (axis[wrong].tolist(), [0.0] * int(wrong.sum()), "red", "crosses")],
                   f"Where it fails: {g['domain']} at evenly spaced points, red where your network is wrong.",
                   x_name=r.riddle.input_names[0], y_name="")]


def svg(fig: dict[str, Any]) -> str:
    """One figure (from `figures`) as inline SVG with its caption."""
    if fig["kind"] == "chart":
        series = [(xs, ys, color, style) for xs, ys, color, style in fig["series"]]
        return _line_chart(series, fig["caption"], x_name=fig["x_name"], y_name=fig["y_name"])
    outline = tuple(fig["outline"]) if fig["outline"] else None
    return _grid_map(np.asarray(fig["wrong"], dtype=bool), fig["lo"], fig["hi"], fig["caption"],
                     outline=outline, names=tuple(fig["names"]))  # type: ignore[arg-type]


def svg_figure(r: RiddleResult) -> str:
    """The riddle's figures as SVG, or '' when there is nothing to draw."""
    return "".join(svg(f) for f in figures(r))


def riddle_view(r: RiddleResult) -> dict[str, Any]:
    """What the feedback page shows of one riddle, as plain data (stored with the grade)."""
    main = r.main
    return {"id": r.riddle.id, "title": r.riddle.title, "status": r.status, "score": r.score,
            "max_score": r.max_score, "message": r.message,
            "neurons": [neurons_text(main), main.riddle.lower_bound, main.riddle.budget] if main else None,
            "counterexamples": [[", ".join(map(str, c.input)), exact_text(c.expected), c.got_text()]
                                for c in r.counterexamples],
            "figures": figures(r)}


def feedback_html(student: str, report: Report, notes: list[str]) -> str:
    return feedback_page(student, [riddle_view(r) for r in report.results], notes, report.score, report.max_score)


def feedback_page(student: str, views: list[dict[str, Any]], notes: list[str], score: float, max_score: float) -> str:
    """The feedback page from stored views (`riddle_view`): written when outputs are written."""
    e = html.escape
    rows = []
    for v in views:
        ce = "".join(f"<tr><td>{e(i)}</td><td>{e(want)}</td><td>{e(got)}</td></tr>"
                     for i, want, got in v["counterexamples"])
        table = f"<table><tr><th>input</th><th>expected</th><th>got</th></tr>{ce}</table>" if ce else ""
        neurons = (f"<p>neurons {e(str(v['neurons'][0]))} · proven minimum {v['neurons'][1]} · budget "
                   f"{v['neurons'][2]}</p>") if v["neurons"] else ""
        rows.append(f'<section class="{e(v["status"])}"><h2>{e(v["id"])}: {e(v["title"])} '
                    f"— {MARK.get(v['status'], e(v['status']))} {v['score']:g}/{v['max_score']:g}</h2>"
                    f"<p>{e(v['message'])}</p>{neurons}{table}{''.join(svg(f) for f in v['figures'])}</section>")
    note_html = "".join(f"<li>{e(n)}</li>" for n in notes)
    notes_block = f"<h2>Notes on running your notebooks</h2><ul>{note_html}</ul>" if notes else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Riddles: {e(student)}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto}section{border-left:4px solid #ccc;"
            "padding-left:1em;margin:1em 0}.pass{border-color:#2a2}.fail,.error{border-color:#c22}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
            "figure{margin:.5em 0}figcaption{font-size:.85em;color:#444;max-width:30em}</style></head><body>"
            f"<h1>Riddles feedback for {e(student)}: {score:g} / {max_score:g}</h1>"
            f"{''.join(rows)}{notes_block}</body></html>")
