"""Shared helpers: notebooks built in memory, and the CLI run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]


def make_notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


def riddles_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.frontends.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture
def notebook(tmp_path: Path):  # type: ignore[no-untyped-def]
    def build(*cells: str, name: str = "sub.ipynb") -> Path:
        return make_notebook(tmp_path / name, *cells)
    return build


def reference_cells() -> list[str]:
    """Notebook cells that define every riddle function from the reference solutions' code."""
    src = (ROOT / "solutions" / "reference.py").read_text()
    return [src]


def parse_json(stdout: str) -> dict:  # type: ignore[type-arg]
    return json.loads(stdout)
