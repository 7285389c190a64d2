"""What runs inside a sandboxed child: a notebook's code, then the capture of its riddles.

`run_request` is called in the student process of a notebook's jail, forked by the one
launcher (`forkserver.py`) for every front end.  Results go out as JSON lines through
`send`; the process's own stdout and stderr are /dev/null.
"""

from __future__ import annotations

import json
import os
import traceback
from typing import Any, Callable


def _clean(src: str) -> str:
    """Comment out IPython-only lines (magics, shell escapes) so plain Python can run them."""
    return "\n".join("# " + ln if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines())


def run_request(request: dict[str, Any], send: Callable[[object], None]) -> None:
    """Run the request's cells one by one (continuing after errors), then capture each riddle."""
    from .checker import CallTimeout, capture_riddle, time_limit
    from .riddles import RIDDLES

    ns: dict[str, object] = {"__name__": "__main__", "__builtins__": __builtins__}
    for i, src in enumerate(request["cells"]):
        try:
            with time_limit(request.get("cell_timeout", 60)):
                exec(compile(_clean(src), f"<cell {i + 1}>", "exec"), ns)  # noqa: S102
            send({"type": "cell", "index": i, "ok": True})
        except CallTimeout:
            send({"type": "cell", "index": i, "ok": False, "error": "cell timed out"})
        except BaseException as e:  # noqa: BLE001 - keep going, as nbgrader does
            last = traceback.format_exception_only(type(e), e)[-1].strip()[:300]
            send({"type": "cell", "index": i, "ok": False, "error": last})
    for rid in request["riddles"]:
        fn = ns.get(rid)
        try:
            data = ({"id": rid, "status": "missing"} if fn is None
                    else capture_riddle(RIDDLES[rid], fn, request.get("call_timeout", 30)))
        except BaseException as e:  # noqa: BLE001 - the student's code escaped every guard
            data = {"id": rid, "status": "error", "message": f"capture failed: {type(e).__name__}"}
        send({"type": "riddle", "id": rid, "data": data})
    send({"type": "done"})


def writer(fd: int) -> Callable[[object], None]:
    out = os.fdopen(fd, "w", buffering=1)

    def send(obj: object) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    return send
