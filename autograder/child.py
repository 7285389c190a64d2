"""Entry point of the sandboxed child: run a notebook's code, capture its riddle networks.

Started by `sandbox.run_notebook` as `python -m autograder.child`.  Reads one JSON request
on stdin; writes JSON lines to the file descriptor named in RIDDLES_RESULT_FD.  Its own
stdout and stderr go nowhere the grader reads as results.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _clean(src: str) -> str:
    """Comment out IPython-only lines (magics, shell escapes) so plain Python can run them."""
    return "\n".join("# " + ln if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines())


def main() -> None:
    request = json.loads(sys.stdin.read())
    fd = int(os.environ.pop("RIDDLES_RESULT_FD"))
    out = os.fdopen(fd, "w", buffering=1)
    os.set_inheritable(fd, False)

    def send(obj: object) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

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
            if isinstance(e, KeyboardInterrupt):
                raise
            last = traceback.format_exception_only(type(e), e)[-1].strip()[:300]
            send({"type": "cell", "index": i, "ok": False, "error": last})
    for rid in request["riddles"]:
        fn = ns.get(rid)
        data = ({"id": rid, "status": "missing"} if fn is None
                else capture_riddle(RIDDLES[rid], fn, request.get("call_timeout", 30)))
        send({"type": "riddle", "id": rid, "data": data})
    send({"type": "done"})


if __name__ == "__main__":
    main()
