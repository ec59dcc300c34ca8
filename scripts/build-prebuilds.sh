#!/usr/bin/env bash
# Builds the binaries that the npm package ships in prebuilds/<platform>-<arch>/:
#   ipo.node       CPU (plain x86-64 baseline, AVX2/AVX-512 chosen at run time, static libstdc++)
#   ipo_cuda.node  CPU + CUDA (static CUDA runtime: loads without a driver), when nvcc is present
# Run by `npm pack` (prepack). IPO_SKIP_CUDA=1 skips the CUDA binary.
set -euo pipefail
cd "$(dirname "$0")/.."
target="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
mkdir -p "$target"
npx cmake-js compile --out build >/dev/null
cp build/Release/ipo.node "$target/ipo.node"
echo "prebuilt $target/ipo.node ($(du -h "$target/ipo.node" | cut -f1))"
NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/bin/nvcc ] && NVCC=/usr/local/bin/nvcc
if [ -z "${IPO_SKIP_CUDA:-}" ] && [ -n "$NVCC" ] && compgen -G "native/cuda/*.cu" >/dev/null; then
  npx cmake-js compile --out build-cuda --CDIPO_WITH_CUDA=ON --CDCMAKE_CUDA_COMPILER="$NVCC" >/dev/null
  cp build-cuda/Release/ipo_cuda.node "$target/ipo_cuda.node"
  echo "prebuilt $target/ipo_cuda.node ($(du -h "$target/ipo_cuda.node" | cut -f1))"
else
  rm -f "$target/ipo_cuda.node"
  echo "no CUDA binary (nvcc not found, no CUDA sources, or IPO_SKIP_CUDA set)"
fi
