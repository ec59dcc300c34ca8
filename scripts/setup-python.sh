#!/usr/bin/env bash
# Makes the Python environment that the TRL engine and the PyTorch bridge need, in VENV (default .venv):
#   bash scripts/setup-python.sh [VENV]      then: export IPO_PYTHON=VENV/bin/python
# pip uses whatever index this machine is configured for; --retries 0 makes an unreachable index fail
# fast instead of backing off for minutes before the next configured one is tried.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PY=${PYTHON:-python3}
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import torch, trl, transformers, accelerate, peft' 2>/dev/null; then
  "$VENV/bin/pip" install --retries 0 --timeout 30 -q -r python/requirements.txt
fi
"$VENV/bin/python" -c 'import sys, torch, trl, transformers, accelerate; print("python env", sys.prefix, "torch", torch.__version__, "transformers", transformers.__version__, "trl", trl.__version__, "accelerate", accelerate.__version__)'
echo "python env ready in $(( $(date +%s) - start )) s"
