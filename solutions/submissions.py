"""Build student submissions from the released notebooks (for tests and the demo class).

A submission is the released notebook with some answer cells filled in.  Answers are keyed
by the nbgrader grade_id of the answer cell (``answer_<riddle>``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

NOTEBOOKS = ("01-less-than-ten", "02-minimum", "03-is-even")


def _cells_by_id(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")}


def reference_answers(source_dir: Path) -> dict[str, str]:
    """grade_id -> source of every answer cell in the instructor notebooks."""
    out = {}
    for name in NOTEBOOKS:
        nb = nbformat.read(source_dir / f"{name}.ipynb", as_version=4)
        for gid, cell in _cells_by_id(nb).items():
            if gid.startswith("answer_") or gid.startswith("written_"):
                out[gid] = cell.source
    return out


MISTAKES: dict[str, str] = {
    "answer_lt10_sigmoid": '''
def lt10_sigmoid():
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(-100.0)
        layer.bias.fill_(1000.0)   # threshold on 10 itself: 0.5 at x = 10
    return nn.Sequential(layer, nn.Sigmoid())
''',
    "answer_lt10_relu": '''
def lt10_relu():
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(-1.0)
        layer.bias.fill_(10.0)
    return nn.Sequential(layer, nn.ReLU())   # one unit: wrong below 9
''',
    "answer_min_network": '''
def min_network():
    class M(nn.Module):
        def forward(self, x):
            return torch.minimum(x[:, :1], x[:, 1:])   # not a network
    return M()
''',
    "answer_is_even_16": '''
def is_even_16():
    class P(nn.Module):
        def forward(self, x):
            return x % 2
    return P()
''',
    "answer_is_even_16_sequential": '''
def is_even_16_sequential():
    class Folds(nn.Module):
        def __init__(self):
            super().__init__()
            self.folds = nn.ModuleList(nn.Linear(1, 1) for _ in range(4))
            with torch.no_grad():
                for layer, k in zip(self.folds, (3, 2, 1, 0)):
                    layer.weight.fill_(1.0)
                    layer.bias.fill_(-(2.0 ** k))

        def forward(self, x):
            y = x
            for fold in self.folds:
                y = y - 2 * torch.relu(fold(y))   # a skip connection: refused here
            return y
    return Folds()
''',
    "answer_is_even_network": '''
def is_even_network(n_bits):
    sizes = [1] + [2] * n_bits + [1]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])   # random weights
''',
}


def make_submission(release_dir: Path, dest: Path, answers: dict[str, str],
                    extra_cells: dict[str, list[str]] | None = None,
                    prepend: dict[str, str] | None = None) -> Path:
    """Write the released notebooks into `dest` with `answers` filled in.

    `extra_cells` maps a notebook name to code cells appended at its end; `prepend` to code
    added at the top of its first code cell (e.g. cheats)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        nb = nbformat.read(release_dir / f"{name}.ipynb", as_version=4)
        nb = copy.deepcopy(nb)
        for gid, cell in _cells_by_id(nb).items():
            if gid in answers:
                cell.source = answers[gid].strip("\n")
        if prepend and prepend.get(name):
            first = next(c for c in nb.cells if c.cell_type == "code")
            first.source = prepend[name].strip("\n") + "\n" + first.source
        for src in (extra_cells or {}).get(name, []):
            nb.cells.append(nbformat.v4.new_code_cell(src))
        nbformat.write(nb, dest / f"{name}.ipynb")
    return dest
