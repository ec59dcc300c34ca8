#!/usr/bin/env bash
# The device check of the CUDA path: one call of a lent GPU machine (docs/cuda.md, "The device check").
# Parts, cheapest first, each in its own process under its own time limit, so that a device fault or
# a slow part costs only itself; every measurement is printed the moment it is taken and appended
# to a JSONL file under $OUT. Expected on an H100/H200 (limits in brackets; worst case 5 min 30 s):
#   0. library: the carried build-cuda/Release/libipo_cuda.so, else build it for sm_90a  ~0 s [150 s]
#   1. parity quick: small/odd shapes, every dtype and mode, bad inputs, C ABI refusals  ~20 s [60 s]
#   2. parity vocab: V = 32001, 128256, 151669 and odd neighbours, every dtype           ~20 s [60 s]
#   3. bench main: copy ceiling, full-size check, ours, odd-row vocabularies, eager      ~45 s [120 s]
#   4. bridge: python/ipo_node.dpo_loss on CUDA tensors vs float64, the CPU path and TRL    ~20 s [60 s]
#   5. bench compile: torch.compile of TRL's loss (last: it can take minutes)    ~60-150 s [what is left]
# The limits are cut to what remains of IPO_GPU_CHECK_BUDGET_S (default 320 s, so the whole check
# ends by then whatever the parts do; a building step comes out of the same budget).
# Output: $OUT/summary.txt (the filtered lines below), parity.log, parity.jsonl, bench.log,
# bench.jsonl, bridge.log, build.log (if built): seven files, within the device tool's eight.
# Needs: python3 with torch and triton; nvcc and cmake only when no library is carried.
#   IPO_LIB=path/to/libipo_cuda.so   use this build
#   IPO_CUDA_ARCHS="90a-real"        architectures when building here
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
budget_end=$(( $(date +%s) + ${IPO_GPU_CHECK_BUDGET_S:-320} ))
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
# The lines worth reading in the reply: failures and errors (with their message), headers, totals.
FILTER='^(FAIL|ERROR|device|seed|parity|bench|Traceback|[A-Za-z]*Error|RuntimeError|torch\.|\|)'

# limit SECONDS: the smaller of SECONDS and what is left of the budget (at least 1).
limit() { local left=$(( budget_end - $(date +%s) )); (( left < $1 )) && echo $(( left > 1 ? left : 1 )) || echo "$1"; }

# part NAME LIMIT LOG COMMAND...: runs one part, streams its filtered lines, reports how it ended.
status=0
part() {
  local name=$1 seconds; seconds=$(limit "$2"); local log=$3; shift 3
  local t0; t0=$(date +%s)
  local before; before=$(cat "$log" 2>/dev/null | wc -l)
  say "== $name (limit ${seconds} s)"
  timeout --signal=TERM --kill-after=10 "$seconds" "$@" 2>&1 | tee -a "$log" | grep --line-buffered -E "$FILTER" | tee -a "$SUMMARY"
  local rc=${PIPESTATUS[0]}
  case $rc in
    0) say "== $name: ok in $(( $(date +%s) - t0 )) s" ;;
    124|137) say "== $name: STOPPED at its ${seconds} s limit (everything measured before is in $log and the JSONL)"; status=1 ;;
    *) say "== $name: exit $rc after $(( $(date +%s) - t0 )) s; last lines of $log:"; tail -n +$(( before + 1 )) "$log" | tail -15 | tee -a "$SUMMARY"; status=1 ;;
  esac
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee -a "$SUMMARY" || true

if [[ -z "${IPO_LIB:-}" ]]; then
  for candidate in build-cuda/Release/libipo_cuda.so build-cuda-lib/libipo_cuda.so; do
    if [[ -f "$candidate" ]]; then IPO_LIB="$PWD/$candidate"; break; fi
  done
fi
if [[ -z "${IPO_LIB:-}" ]]; then
  t0=$(date +%s)
  say "== no carried libipo_cuda.so: building for ${IPO_CUDA_ARCHS:-90a-real}"
  if timeout "$(limit 150)" bash -c "cmake -S . -B build-gpu-check -DIPO_WITH_CUDA=ON -DIPO_BUILD_SHARED=ON \
        -DCMAKE_CUDA_ARCHITECTURES='${IPO_CUDA_ARCHS:-90a-real}' && cmake --build build-gpu-check -j$(nproc) --target ipo_shared" \
        >"$OUT/build.log" 2>&1; then
    say "== built in $(( $(date +%s) - t0 )) s"
    IPO_LIB="$PWD/build-gpu-check/libipo_cuda.so"
  else
    say "== build failed:"; tail -30 "$OUT/build.log" | tee -a "$SUMMARY"; exit 1
  fi
fi
export IPO_LIB
say "library: $IPO_LIB"

cd scripts/gpu
part "parity quick" 60 "$OUT/parity.log" python3 parity.py --lib "$IPO_LIB" --group quick --jsonl "$OUT/parity.jsonl"
part "parity vocab" 60 "$OUT/parity.log" python3 parity.py --lib "$IPO_LIB" --group vocab --jsonl "$OUT/parity.jsonl"
part "bench main" 120 "$OUT/bench.log" python3 bench.py --lib "$IPO_LIB" --part main --jsonl "$OUT/bench.jsonl"
part "bridge" 60 "$OUT/bridge.log" python3 bridge_check.py
part "bench compile" 300 "$OUT/bench.log" python3 bench.py --lib "$IPO_LIB" --part compile --jsonl "$OUT/bench.jsonl"
say "== gpu-check done: status $status"
exit $status
