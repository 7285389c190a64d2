"""The `riddles check` contract: one JSON object, exit codes, and notebooks that misbehave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.core.riddles import RIDDLES

from .conftest import reference_cells, riddles_cli

pytestmark = pytest.mark.slow
KEYS = {"id", "status", "score", "max_score", "exact", "neurons", "lower_bound", "budget",
        "counterexamples", "message"}


def _check(path: Path, *extra: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    proc = riddles_cli("check", str(path), "--json", *extra)
    assert proc.stdout, proc.stderr[-2000:]
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_reference_notebook_passes_everything_and_exits_0(notebook) -> None:  # type: ignore[no-untyped-def]
    code, report, _ = _check(notebook(*reference_cells()))
    assert code == 0
    assert [r["id"] for r in report["riddles"]] == list(RIDDLES)
    assert report["score"] == report["max_score"] > 0
    for r in report["riddles"]:
        assert KEYS <= set(r)
        assert r["status"] == "pass" and r["exact"] is True
    per_n = report["riddles"][-1]["per_n"]
    assert [p["n"] for p in per_n][-2:] == [32, 64]
    assert set(per_n[0]) == {"n", "exact", "neurons", "lower_bound", "budget"}


def test_a_notebook_that_errors_halfway_still_grades_what_it_defines(notebook) -> None:  # type: ignore[no-untyped-def]
    path = notebook(
        "import torch\nfrom torch import nn",
        "def lt10_relu():\n    raise NotImplementedError()",
        "raise RuntimeError('boom')",
        reference_cells()[0].replace("def lt10_relu(", "def _unused_lt10_relu("),
    )
    code, report, _ = _check(path)
    assert code == 1
    status = {r["id"]: r["status"] for r in report["riddles"]}
    assert status["lt10_relu"] == "missing"
    assert status["min_network"] == "pass"


def test_printing_junk_and_a_fake_report_cannot_become_the_report(notebook) -> None:  # type: ignore[no-untyped-def]
    fake = json.dumps({"notebook": "x", "score": 99, "max_score": 99, "riddles": []})
    path = notebook(f"print({fake!r})\nimport sys\nsys.stderr.write('x' * 100000)\nprint('\\x00junk' * 1000)",
                    "def min_network():\n    return 'no'")
    code, report, _ = _check(path)
    assert code == 1
    assert report["score"] == 0
    by = {r["id"]: r for r in report["riddles"]}
    assert by["min_network"]["status"] == "fail" and "not a torch.nn.Module" in by["min_network"]["message"]
    # the notebook is about min_network only: the other riddles are skipped, and said so
    assert list(by) == ["min_network"]
    assert report["skipped"]["riddles"] == [rid for rid in RIDDLES if rid != "min_network"]


def test_a_notebook_that_never_stops_keeps_the_riddles_answered_before(notebook) -> None:  # type: ignore[no-untyped-def]
    path = notebook(reference_cells()[0], "import time\nwhile True:\n    time.sleep(0.01)")
    code, report, _ = _check(path, "--timeout", "20")
    # the per-cell limit (60 s) is beyond the notebook limit: the run is stopped at 20 s, but every
    # riddle was captured when the first cell defined it
    assert code == 0
    assert {r["status"] for r in report["riddles"]} == {"pass"}
    assert any("stopped at the whole-notebook limit of 20 s" in n for n in report["notes"])


def test_a_slow_cell_is_interrupted_and_the_run_goes_on(notebook) -> None:  # type: ignore[no-untyped-def]
    path = notebook("import time\ntime.sleep(30)", reference_cells()[0])
    code, report, _ = _check(path, "--cell-timeout", "2", "--timeout", "60")
    assert code == 0 and {r["status"] for r in report["riddles"]} == {"pass"}
    assert any("cell 1: interrupted at the per-cell limit of 2 s" in n for n in report["notes"])


def test_a_syntax_error_is_shown_with_its_cell_and_line_escaped(notebook) -> None:  # type: ignore[no-untyped-def]
    path = notebook("import torch\nfrom torch import nn", "def lt10_relu():\n    return nn.Linear(1, 1\n\n",
                    "raise ValueError('bad \\x1b[31mred\\x1b[0m')")
    proc = riddles_cli("check", str(path))
    assert proc.returncode == 1
    out = proc.stdout
    assert "lt10_relu() is not defined: cell 2 failed (SyntaxError:" in " ".join(out.split())
    assert "cell 3: ValueError: bad \\x1b[31mred\\x1b[0m (line 1)" in out
    assert "\x1b" not in out  # no raw escape sequence reaches the terminal


def test_a_function_that_never_returns_is_cut_off_and_the_others_graded(notebook) -> None:  # type: ignore[no-untyped-def]
    cells = reference_cells()[0].replace("def is_even_16() -> nn.Module:\n",
                                         "def is_even_16() -> nn.Module:\n    while True: pass\n")
    code, report, _ = _check(notebook(cells), "--call-timeout", "3")
    by = {r["id"]: r for r in report["riddles"]}
    assert by["is_even_16"]["status"] == "error" and "did not finish within 3 s" in by["is_even_16"]["message"]
    assert by["is_even_network"]["status"] == "pass"


@pytest.mark.parametrize("content", [b"not json at all", b"\x00\xff\xfe binary", b'{"cells": 3}', b"[]"])
def test_unusable_input_exits_2_with_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    proc = riddles_cli("check", str(path), "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    proc = riddles_cli("check", str(tmp_path / "nope.ipynb"))
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_riddle_option_checks_only_that_riddle(notebook) -> None:  # type: ignore[no-untyped-def]
    code, report, _ = _check(notebook(*reference_cells()), "--riddle", "min_network")
    assert code == 0
    assert [r["id"] for r in report["riddles"]] == ["min_network"]


def test_text_report_is_printed_without_json(notebook) -> None:  # type: ignore[no-untyped-def]
    proc = riddles_cli("check", str(notebook(*reference_cells())), "--riddle", "lt10_relu")
    assert proc.returncode == 0
    assert "lt10_relu" in proc.stdout and "PASS 3/3" in proc.stdout
