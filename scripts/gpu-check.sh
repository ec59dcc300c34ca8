#!/usr/bin/env bash
# The device check of the CUDA path (issue 3), for one call of a lent GPU machine:
#   build libipo_cuda.so (unless a build is carried), parity on the GPU against PyTorch float64
#   and the CPU path (fresh random inputs, poisoned outputs, odd vocabularies, all dtypes, bad
#   inputs), then the timing table (pairs=8, seqLen=1024, vocab=128256, bf16) next to PyTorch eager
#   and torch.compile, and the device-to-device copy bandwidth.
# Needs: nvcc, cmake, python3 with torch and triton. Logs go to $OUT (or ./gpu-check-out).
#   IPO_LIB=path/to/libipo_cuda.so   use this build instead of building
#   IPO_CUDA_ARCHS="90a-real"        architectures when building here (default: sm_90a only, fast)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt" || true

if [[ -z "${IPO_LIB:-}" ]]; then
  for candidate in build-cuda-lib/libipo_cuda.so build-cuda/Release/libipo_cuda.so build-cuda/libipo_cuda.so \
                   build-cuda-node/Release/libipo_cuda.so; do
    if [[ -f "$candidate" ]]; then IPO_LIB="$PWD/$candidate"; break; fi
  done
fi
if [[ -z "${IPO_LIB:-}" ]]; then
  t0=$(date +%s)
  cmake -S . -B build-gpu-check -DIPO_WITH_CUDA=ON -DIPO_BUILD_SHARED=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${IPO_CUDA_ARCHS:-90a-real}" >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
  cmake --build build-gpu-check -j"$(nproc)" --target ipo_shared >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
  echo "built in $(( $(date +%s) - t0 )) s"
  IPO_LIB="$PWD/build-gpu-check/libipo_cuda.so"
fi
export IPO_LIB
echo "library: $IPO_LIB"

status=0
# Parity: the full log goes to $OUT; the reply shows failures and the summary.
python3 scripts/gpu/parity.py --lib "$IPO_LIB" --json "$OUT/parity.json" >"$OUT/parity.log" 2>&1 || status=1
grep -E "^(FAIL|device|seed|parity|Traceback)" "$OUT/parity.log" || tail -20 "$OUT/parity.log"
python3 scripts/gpu/bench.py --lib "$IPO_LIB" --json "$OUT/bench.json" >"$OUT/bench.log" 2>&1 || status=1
cat "$OUT/bench.log"
exit $status
