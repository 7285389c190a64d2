"""Figures: the candidate against the target with failures marked; neurons against n."""

from __future__ import annotations

from typing import Any

import numpy as np

from .result import RiddleResult


def figure(r: RiddleResult) -> Any:
    """A matplotlib Figure for a riddle result, or None when there is nothing to draw."""
    import matplotlib.pyplot as plt

    if not r.verdicts:
        return None
    if r.riddle.id == "is_even_network":
        vs = r.verdicts
        ns = [v.riddle.n for v in vs]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(ns, [v.neurons for v in vs], "o-", label="your network")
        ax.plot(ns, [v.riddle.lower_bound for v in vs], "k--", label="proven minimum (n)")
        ax.plot(ns, [v.riddle.budget for v in vs], ":", color="gray", label="budget (2n)")
        bad = [v for v in vs if not v.exact]
        if bad:
            ax.plot([v.riddle.n for v in bad], [v.neurons for v in bad], "rx", ms=10, label="not exact")
        ax.set_xlabel("n (domain [0, 2^n))")
        ax.set_ylabel("neurons")
        ax.set_title("is_even_network: neurons against n")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig
    v = r.verdicts[0]
    values = getattr(v, "public_values", None)
    if values is None:
        return None
    d = v.riddle.domains[0]
    if d.arity == 1:
        xs = np.arange(d.lo, d.hi + 1)
        want = v.riddle.target(xs)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.step(xs, want, where="mid", color="gray", lw=3, alpha=0.5, label="target")
        ax.plot(xs, values, "o", ms=3, label="your network")
        wrong = np.abs(np.asarray(values) - want) > (float(v.riddle.tolerance) if v.riddle.tolerance else 0)
        if wrong.any():
            ax.plot(xs[wrong], np.asarray(values)[wrong], "rx", ms=8, label="wrong")
        ax.set_xlabel("x")
        ax.set_title(f"{r.riddle.id} on {d.describe()}")
        ax.legend(fontsize=8)
    else:
        g = np.arange(d.lo, d.hi + 1)
        a, b = np.meshgrid(g, g, indexing="ij")
        err = np.asarray(values).reshape(a.shape) - v.riddle.target(a, b)
        fig, ax = plt.subplots(figsize=(5, 4))
        im = ax.imshow(err.T, origin="lower", extent=(d.lo, d.hi, d.lo, d.hi), cmap="coolwarm")
        fig.colorbar(im, ax=ax, label="network − min(a, b)")
        ys, xs = np.nonzero(err.T)
        if len(xs):
            ax.plot(g[xs][:500], g[ys][:500], "k.", ms=1, label="wrong")
        ax.set_xlabel("a")
        ax.set_ylabel("b")
        ax.set_title("min_network: error on the public grid")
    fig.tight_layout()
    return fig
