#!/usr/bin/env bash
# The PyTorch-bridge benchmarks (docs/bench.md, "The PyTorch bridge"), in the project's Python env:
#   bash bench/python-bench.sh loss [args]   the loss alone: ipo_node.dpo_loss vs torch eager / torch.compile
#   bash bench/python-bench.sh step [args]   a whole TRL DPO step, real Qwen3 vocabulary, with and without the fused loss
#   bash bench/python-bench.sh all           both, default shapes (~12 minutes on 2 busy cores)
# Python: IPO_PYTHON, else .venv/bin/python (bash scripts/setup-python.sh). Needs the built libipo.so (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${IPO_PYTHON:-.venv/bin/python}
[ -x "$PY" ] || { echo "no Python env at $PY: run bash scripts/setup-python.sh, or set IPO_PYTHON" >&2; exit 1; }
what=${1:-all}
shift || true
case "$what" in
  loss) exec "$PY" bench/torch_bridge.py "$@" ;;
  step) exec "$PY" bench/trl_step.py "$@" ;;
  all) "$PY" bench/torch_bridge.py && "$PY" bench/trl_step.py ;;
  *) echo "usage: bash bench/python-bench.sh loss|step|all [args]" >&2; exit 2 ;;
esac
