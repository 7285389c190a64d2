"""What runs inside a sandboxed child: a notebook's code, each riddle captured at its turn.

`run_request` is called in the student process of a notebook's jail, forked by the one
launcher (`forkserver.py`) for every front end.  Results go out as JSON lines through
`send`; the process's own stdout and stderr are /dev/null.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Callable
from typing import Any


def clean_source(src: str) -> str:
    """Comment out IPython-only lines (magics, shell escapes) so plain Python can run them."""
    return "\n".join("# " + ln if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines())


def _where(e: BaseException, filename: str) -> str:
    """' (line N)' of the innermost frame of the cell itself, or '' when it is not known."""
    if isinstance(e, SyntaxError) and e.filename == filename and e.lineno:
        return f" (line {e.lineno})"
    line = None
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def cell_error(e: BaseException, filename: str) -> str:
    """The first line of a cell's error, with the line of the cell it came from."""
    if isinstance(e, SyntaxError):
        text = f"{type(e).__name__}: {e.msg}"
    else:
        lines = traceback.format_exception_only(type(e), e)
        text = lines[-1].strip() if lines else type(e).__name__
        text = text.splitlines()[0] if text else type(e).__name__
    return f"{text[:240]}{_where(e, filename)}"


def run_request(request: dict[str, Any], send: Callable[[object], None]) -> None:
    """Run the cells in order, capturing each riddle at its turn (see `autograder.jail.plan`).

    A cell that raises or runs past the per-cell limit is interrupted and the run goes on with
    the next cell.  In a notebook with riddle test cells, each of those riddles is captured just
    before the cell at its turn's index runs (and no other riddle is); in any other notebook, a
    riddle is captured right after each cell that binds it to a new object, so the last
    definition is the one graded.  Each capture is sent as soon as
    it is made, so a notebook stopped later at the whole-notebook limit keeps it."""
    from ..core.checker import CallTimeout, capture_riddle, time_limit
    from ..core.riddles import RIDDLES

    cells: list[str] = list(request["cells"])
    numbers: list[int] = list(request.get("numbers") or range(1, len(cells) + 1))
    riddles = [rid for rid in request["riddles"] if rid in RIDDLES]
    turns = {rid: int(i) for rid, i in (request.get("turns") or {}).items() if rid in riddles}
    watched = [] if turns else riddles  # a notebook with test cells is about those riddles only
    cell_limit = float(request["cell_timeout"])  # the Limits of the front end that asked (plan.limit_fields)
    call_limit = float(request["call_timeout"])
    ns: dict[str, object] = {"__name__": "__main__", "__builtins__": __builtins__}
    seen: dict[str, object] = {}

    def capture(rid: str, at: int) -> None:
        fn = ns.get(rid)
        try:
            data = ({"id": rid, "status": "missing"} if fn is None
                    else capture_riddle(RIDDLES[rid], fn, call_limit))
        except BaseException as e:  # noqa: BLE001 - the student's code escaped every guard
            data = {"id": rid, "status": "error", "message": f"capture failed: {type(e).__name__}"}
        send({"type": "riddle", "id": rid, "data": data, "cell": at})

    for i, src in enumerate(cells):
        for rid in turns:
            if turns[rid] == i:
                capture(rid, i)
        filename = f"<cell {numbers[i] if i < len(numbers) else i + 1}>"
        try:
            with time_limit(cell_limit):
                exec(compile(clean_source(src), filename, "exec"), ns)  # noqa: S102
            send({"type": "cell", "index": numbers[i] if i < len(numbers) else i + 1, "ok": True})
        except CallTimeout:
            send({"type": "cell", "index": numbers[i] if i < len(numbers) else i + 1, "ok": False,
                  "error": f"interrupted at the per-cell limit of {cell_limit:g} s; the run went on "
                           "with the next cell"})
        except BaseException as e:  # noqa: BLE001 - keep going, as nbgrader does
            send({"type": "cell", "index": numbers[i] if i < len(numbers) else i + 1, "ok": False,
                  "error": cell_error(e, filename)})
        for rid in watched:
            fn = ns.get(rid)
            if fn is not None and fn is not seen.get(rid):
                seen[rid] = fn
                capture(rid, i)
    for rid in turns:
        if turns[rid] >= len(cells):
            capture(rid, len(cells))
    send({"type": "done"})


def writer(fd: int) -> Callable[[object], None]:
    out = os.fdopen(fd, "w", buffering=1)

    def send(obj: object) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    return send
