#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.  It installs
# neuron-riddles (shipped in package/ next to this file) and its dependencies into a virtual
# environment at $ROOT/venv, with a CPU-only torch (Gradescope's containers have no GPU).
# RIDDLES_AUTOGRADER_ROOT moves /autograder (tests); RIDDLES_SETUP_PYTHON picks the Python.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${RIDDLES_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${RIDDLES_SETUP_PYTHON:-python3}"
CONFIG="$HERE/riddles-gradescope.json"

usable() { "$PYTHON" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; }
if ! usable && command -v apt-get >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv python3-pip
fi
if ! usable; then
    echo "setup.sh: neuron-riddles needs Python 3.10 or newer with venv; pick a newer base image" \
         "(Ubuntu 22.04 or later) in the assignment's autograder settings" >&2
    exit 1
fi

"$PYTHON" -m venv "$ROOT/venv"
PIP=("$ROOT/venv/bin/python" -m pip install --no-input --progress-bar off)
"${PIP[@]}" --upgrade pip
setting() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$CONFIG" "$1"; }
TORCH="$(setting torch)"
TORCH_INDEX="$(setting torch_index)"
if [ -n "$TORCH_INDEX" ]; then
    "${PIP[@]}" --index-url "$TORCH_INDEX" "$TORCH"
else
    "${PIP[@]}" "$TORCH"
fi
"${PIP[@]}" "$HERE/package"
"$ROOT/venv/bin/python" -c 'import autograder, torch; print("installed neuron-riddles", autograder.__version__, "with torch", torch.__version__)'
