#!/usr/bin/env bash
# Builds the binaries that the npm package ships, for glibc 2.28 and later, with zig's clang and libc++
# (scripts/zig-toolchain.sh; libc++ linked statically, glibc symbols capped at 2.28):
#   prebuilds/linux-x64/ipo.node         CPU addon (plain x86-64 baseline, AVX2/AVX-512 chosen at run time)
#   prebuilds/linux-x64/libipo.so        the same core as a C library (ctypes)
#   prebuilds/linux-x64/ipo_cuda.node    CPU + CUDA addon (static CUDA runtime: loads without a driver),
#   prebuilds/linux-x64/libipo_cuda.so     and its C library; both only when nvcc is present
#   prebuilds/linux-arm64/ipo.node       CPU addon (NEON chosen at run time), cross-compiled
#   prebuilds/linux-arm64/libipo.so
# Run by `npm pack` (prepack). IPO_SKIP_CUDA=1 skips the CUDA binaries. The dev build (`npm ci`) is not
# touched: it stays cmake-js with the system compiler in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=$(bash scripts/zig-toolchain.sh)
GLIBC=2.28

# build <out dir> <zig target arch> [cmake-js args...]: a cmake-js build with the zig wrappers.
build() {
  local out=$1 arch=$2
  shift 2
  local cross=()
  [ "$arch" != x86_64 ] && cross=(--CDCMAKE_SYSTEM_NAME=Linux --CDCMAKE_SYSTEM_PROCESSOR="$arch")
  npx cmake-js compile --out "$out" \
    --CDCMAKE_C_COMPILER="$TOOLS/$arch-linux-gnu.$GLIBC-cc" \
    --CDCMAKE_CXX_COMPILER="$TOOLS/$arch-linux-gnu.$GLIBC-c++" "${cross[@]}" "$@" >"$out.log" 2>&1 ||
    { tail -n 40 "$out.log" >&2; echo "build-prebuilds.sh: the $out build failed (log: $out.log)" >&2; exit 1; }
}
ship() {  # ship <target dir> <files...>
  local target=$1
  shift
  mkdir -p "$target"
  for f in "$@"; do
    cp "$f" "$target/"
    echo "prebuilt $target/$(basename "$f") ($(du -h "$f" | cut -f1))"
  done
}

rm -rf prebuilds
build build-prebuild-x64 x86_64
ship prebuilds/linux-x64 build-prebuild-x64/Release/ipo.node build-prebuild-x64/Release/libipo.so
build build-prebuild-arm64 aarch64
ship prebuilds/linux-arm64 build-prebuild-arm64/Release/ipo.node build-prebuild-arm64/Release/libipo.so

NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/bin/nvcc ] && NVCC=/usr/local/bin/nvcc
if [ -z "${IPO_SKIP_CUDA:-}" ] && [ -n "$NVCC" ] && compgen -G "native/cuda/*.cu" >/dev/null; then
  # nvcc compiles the host side of the .cu files and links with the same zig clang (-ccbin).
  build build-prebuild-cuda x86_64 --CDIPO_WITH_CUDA=ON --CDCMAKE_CUDA_COMPILER="$NVCC" \
    --CDCMAKE_CUDA_HOST_COMPILER="$TOOLS/x86_64-linux-gnu.$GLIBC-c++"
  ship prebuilds/linux-x64 build-prebuild-cuda/Release/ipo_cuda.node build-prebuild-cuda/Release/libipo_cuda.so
else
  echo "no CUDA binary (nvcc not found, no CUDA sources, or IPO_SKIP_CUDA set)"
fi
