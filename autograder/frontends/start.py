"""`riddles start`: a self-learner's folder with the notebooks, the theory and a short README."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .files import student_notebooks, theory_page

DEFAULT_DIR = "neuron-riddles"

README = """# neuron-riddles: your notebooks

Three notebooks, each with riddles: write the weights of a tiny PyTorch network by hand,
and get an exact verdict.

- `01-less-than-ten.ipynb`: `lt10_sigmoid`, `lt10_relu`
- `02-minimum.ipynb`: `min_network`
- `03-is-even.ipynb`: `is_even_16`, `is_even_network`

## Open them

In this folder, run

    jupyter lab

(or `jupyter notebook`). Start with `01-less-than-ten.ipynb`: its first cells set a
network's weights by hand and check it.

## Check your work

- In a notebook: replace `raise NotImplementedError()` in an answer cell, then run the check
  cell below it, e.g. `check(lt10_relu)`. It prints the verdict, inputs where the network is
  wrong, and its neurons against the proven minimum.
- From a terminal, the whole course at once (each notebook runs in a separate, limited process):

      riddles check .
      riddles check . --html scoreboard.html

## The theory

`docs/theory.md` (in this folder) says how neurons are counted and proves every minimum
the reports quote.
"""


class StartRefused(Exception):
    """`riddles start` would overwrite files that are already there."""


def planned_files(dest: Path) -> dict[Path, Path | str]:
    """Destination -> source file (or text) for everything `start` writes."""
    plan: dict[Path, Path | str] = {dest / p.name: p for p in student_notebooks()}
    plan[dest / "docs" / "theory.md"] = theory_page()
    plan[dest / "README.md"] = README
    return plan


def start(dest: Path, *, force: bool = False) -> list[Path]:
    """Copy the student notebooks, the theory page and a README into `dest`.

    Refuses, before writing anything, when any of those files exists (a student's work is
    never overwritten) unless `force`."""
    plan = planned_files(dest)
    there = [p for p in plan if p.exists()]
    if there and not force:
        names = ", ".join(str(p.relative_to(dest)) for p in there[:4]) + (" ..." if len(there) > 4 else "")
        raise StartRefused(f"{dest} already holds {names}: not overwriting your work "
                           "(use --force to replace them, or pick another folder)")
    for target, src in plan.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            shutil.copyfile(src, target)
        else:
            target.write_text(src, encoding="utf-8")
    return list(plan)


def open_lab(dest: Path) -> None:
    """Replace this process with Jupyter Lab serving `dest` (the student's next step)."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        raise StartRefused(f"Jupyter Lab is not installed here: pip install jupyterlab, then run: jupyter lab {dest}")
    argv = [sys.executable, "-m", "jupyterlab", str(dest)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root; the user asked for the server
    sys.stdout.flush()
    os.execv(sys.executable, argv)

