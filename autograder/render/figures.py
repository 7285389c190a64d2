"""Figures: the candidate against the target with failures marked; neurons against n.

A network can be right on the public grid and wrong only on the extended one (a plain
`nn.Sequential` for min, a ramp that is too wide for x < 10); the figure then shows the grid
where it fails, with the wrong points the grader found marked, next to the public grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.result import RiddleResult
from ..core.riddles import Domain
from ..core.verify import Verdict


def failing_domain(v: Verdict) -> Domain | None:
    """The domain a non-exact verdict failed on (the last one checked), or None."""
    if v.exact or v.refused or not v.checked:
        return None
    return next((d for d in v.riddle.domains if d.describe() == v.checked[-1]), None)


def _extended_panel(ax: Any, r: RiddleResult, v: Verdict, d: Domain) -> None:
    """The grid the network fails on: where it is wrong (red) or right (green) on evenly spaced
    points, its public part outlined, the wrong points the grader reported marked."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    pub = v.riddle.domains[0]
    count = f"{'≥ ' if v.partial_count else ''}{v.wrong:,}" if v.wrong else "some"
    grid = r.grid
    pts = np.asarray([c.input for c in v.counterexamples], dtype=float)
    if d.arity == 1:
        if grid:
            axis = np.asarray(grid["axis"], dtype=float)
            wrong = np.asarray(grid["wrong"], dtype=bool)
            ax.scatter(axis[~wrong], np.zeros((~wrong).sum()), s=4, color="#2a2", label="right")
            ax.scatter(axis[wrong], np.zeros(wrong.sum()), s=8, color="red", marker="x", label="wrong")
        if len(pts):
            ax.plot(pts[:, 0], np.full(len(pts), 0.5), "rv", ms=6, label="examples reported")
        ax.axvspan(pub.lo, pub.hi, color="#cde", label="public range")
        ax.set_yticks([])
        ax.set_ylim(-1, 1.5)
        ax.set_xlabel(r.riddle.input_names[0])
    else:
        if grid:
            axis = np.asarray(grid["axis"], dtype=float)
            wrong = np.asarray(grid["wrong"], dtype=float).reshape(len(axis), len(axis))
            ax.imshow(wrong.T, origin="lower", extent=(d.lo, d.hi, d.lo, d.hi), vmin=0, vmax=1,
                      cmap=ListedColormap(["#cfc", "#e33"]), interpolation="nearest")
        ax.add_patch(Rectangle((pub.lo, pub.lo), pub.hi - pub.lo, pub.hi - pub.lo, fill=False, lw=1.5,
                               edgecolor="black", label="public grid"))
        if len(pts):
            ax.plot(pts[:, 0], pts[:, 1], "kx", ms=7, label="examples reported")
        ax.set_xlim(d.lo, d.hi)
        ax.set_ylim(d.lo, d.hi)
        ax.set_xlabel(r.riddle.input_names[0])
        ax.set_ylabel(r.riddle.input_names[1])
    ax.set_title(f"wrong on the {d.name} {'grid' if d.arity == 2 else 'range'} ({count} points); red: wrong",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper right")


def figure(r: RiddleResult) -> Any:
    """A matplotlib Figure for a riddle result, or None when there is nothing to draw."""
    import matplotlib.pyplot as plt

    if not r.verdicts:
        return None
    if r.riddle.sizes:
        vs = [v for v in r.verdicts if not v.refused]
        if not vs:
            return None
        ns = [v.riddle.n for v in vs]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(ns, [v.neurons for v in vs], "o-", label="your network")
        bound = f" ({r.riddle.bound_text.split(' ')[0]})" if r.riddle.bound_text else ""
        budget = f" ({r.riddle.budget_text.split(' ')[0]})" if r.riddle.budget_text else ""
        ax.plot(ns, [v.riddle.lower_bound for v in vs], "k--", label=f"proven minimum{bound}")
        ax.plot(ns, [v.riddle.budget for v in vs], ":", color="gray", label=f"budget{budget}")
        bad = [v for v in vs if not v.exact]
        if bad:
            ax.plot([v.riddle.n for v in bad], [v.neurons for v in bad], "rx", ms=10, label="not exact")
        ax.set_xlabel("n (the size the function is called with)")
        ax.set_ylabel("neurons")
        ax.set_title(f"{r.riddle.id}: neurons against n")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig
    v = r.verdicts[0]
    values = getattr(v, "public_values", None)
    if values is None:
        return None
    d = v.riddle.domains[0]
    failed_on = failing_domain(v)
    extended = failed_on is not None and failed_on is not d
    if d.arity == 1:
        xs = np.arange(d.lo, d.hi + 1)
        want = v.riddle.target(xs)
        fig, axes = plt.subplots(1, 2 if extended else 1, figsize=(11 if extended else 6, 3.4), squeeze=False)
        ax = axes[0][0]
        ax.step(xs, want, where="mid", color="gray", lw=3, alpha=0.5, label="target")
        ax.plot(xs, values, "o", ms=3, label="your network")
        wrong = np.abs(np.asarray(values) - want) > (float(v.riddle.tolerance) if v.riddle.tolerance else 0)
        if wrong.any():
            ax.plot(xs[wrong], np.asarray(values)[wrong], "rx", ms=8, label="wrong")
        ax.set_xlabel(r.riddle.input_names[0])
        ax.set_title(f"{r.riddle.id} on {d.describe()}: {r.riddle.target_label}", fontsize=9)
        ax.legend(fontsize=8)
    elif d.arity == 2:
        g = np.arange(d.lo, d.hi + 1)
        a, b = np.meshgrid(g, g, indexing="ij")
        err = np.asarray(values).reshape(a.shape) - v.riddle.target(a, b)
        fig, axes = plt.subplots(1, 2 if extended else 1, figsize=(10 if extended else 5, 4), squeeze=False)
        ax = axes[0][0]
        im = ax.imshow(err.T, origin="lower", extent=(d.lo, d.hi, d.lo, d.hi), cmap="coolwarm")
        fig.colorbar(im, ax=ax, label=f"network − {r.riddle.target_label}")
        ys, xs = np.nonzero(err.T)
        if len(xs):
            ax.plot(g[xs][:500], g[ys][:500], "k.", ms=1, label="wrong")
        ax.set_xlabel(r.riddle.input_names[0])
        ax.set_ylabel(r.riddle.input_names[1])
        ax.set_title(f"{r.riddle.id} on the public grid{': right' if not len(xs) else ''}", fontsize=9)
    else:
        return None  # no picture of more than two inputs
    if extended and failed_on is not None:
        _extended_panel(axes[0][1], r, v, failed_on)
    fig.tight_layout()
    return fig
