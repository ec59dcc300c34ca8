#!/usr/bin/env bash
# Builds the binaries that the npm package ships, for glibc 2.28 and later, with zig's clang and libc++
# (scripts/zig-toolchain.sh; libc++ linked statically, glibc symbols capped at 2.28):
#   prebuilds/linux-x64/ipo.node         CPU addon (plain x86-64 baseline, AVX2/AVX-512 chosen at run time)
#   prebuilds/linux-x64/libipo.so        the same core as a C library (ctypes)
#   prebuilds/linux-x64/ipo_cuda.node    CPU + CUDA addon (static CUDA runtime: loads without a driver),
#   prebuilds/linux-x64/libipo_cuda.so     and its C library; both only when nvcc is present, built with
#                                          g++ (nvcc rejects libc++), so they need this machine's glibc
#   prebuilds/linux-arm64/ipo.node       CPU addon (NEON chosen at run time), cross-compiled
#   prebuilds/linux-arm64/libipo.so
# Run by `npm pack` (prepack). Arguments pick targets (linux-x64 linux-arm64 linux-x64-cuda; default all).
# IPO_SKIP_CUDA=1 skips the CUDA binaries. The dev build (`npm ci`) is not
# touched: it stays cmake-js with the system compiler in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=$(bash scripts/zig-toolchain.sh)
GLIBC=2.28

# build <out dir> <zig target arch> [cmake-js args...]: a cmake-js build with the zig wrappers.
# -z nodelete: libc++abi keeps each thread's exception state under a pthread key whose destructor lives
# in this library; Node unloads an addon when the worker thread that loaded it ends, and the thread's
# key destructor would then jump into unmapped code (seen as a segfault at worker exit in vitest's
# threads pool). Never unloading the library keeps the destructor valid.
build() {
  local out=$1 arch=$2
  shift 2
  local cross=()
  [ "$arch" != x86_64 ] && cross=(--CDCMAKE_SYSTEM_NAME=Linux --CDCMAKE_SYSTEM_PROCESSOR="$arch")
  mkdir -p "$out"
  { npx cmake-js configure --out "$out" \
    --CDCMAKE_C_COMPILER="$TOOLS/$arch-linux-gnu.$GLIBC-cc" \
    --CDCMAKE_CXX_COMPILER="$TOOLS/$arch-linux-gnu.$GLIBC-c++" "${cross[@]}" \
    --CDCMAKE_SHARED_LINKER_FLAGS="-Wl,--strip-all -Wl,-z,nodelete" "$@" && npx cmake-js build --out "$out"; } >"$out/build.log" 2>&1 ||
    { tail -n 40 "$out/build.log" >&2; echo "build-prebuilds.sh: the $out build failed (log: $out/build.log)" >&2; exit 1; }
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

# make_glibc_stubs DIR: a folder that makes g++ link against glibc 2.28 as zig sees it: zig's stub
# libraries (generated once per target in its cache; a tiny zig link makes sure they exist) behind
# the names g++ asks for, and a libc.so linker script shaped like the system's (stub libc.so.6, the
# system's libc_nonshared.a, the stub dynamic loader).
make_glibc_stubs() {
  local dir=$1 probe=build-toolchain/stub-probe
  mkdir -p "$dir" "$probe"
  echo 'int ipo_stub_probe(void) { return 0; }' >"$probe/probe.c"
  "$TOOLS/x86_64-linux-gnu.$GLIBC-cc" -shared -o "$probe/probe.so" "$probe/probe.c" -lpthread -ldl -lrt -lm
  local libc="" f versions
  for f in build-toolchain/cache/o/*/libc.so.6; do  # the x86-64 one whose newest version is 2.28
    [ "$(od -An -tx1 -j18 -N2 "$f" | tr -d ' ')" = 3e00 ] || continue
    versions=$(objdump -T "$f" | grep -oE 'GLIBC_2\.[0-9]+' | sort -uV | tail -n 1)
    [ "$versions" = "GLIBC_$GLIBC" ] && { libc=$f; break; }
  done
  [ -n "$libc" ] || { echo "build-prebuilds.sh: zig made no x86-64 glibc $GLIBC stubs" >&2; exit 1; }
  local src
  src=$(cd "$(dirname "$libc")" && pwd)
  for lib in libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1; do ln -sfn "$src/$lib" "$dir/${lib%%.so*}.so"; done
  local nonshared
  nonshared=$(gcc -print-file-name=libc_nonshared.a)
  printf 'GROUP ( %s %s AS_NEEDED ( %s ) )\n' "$src/libc.so.6" "$nonshared" "$src/libld.so.2" >"$dir/libc.so"
}

# Targets to build: the arguments, or all of them.
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(linux-x64 linux-arm64 linux-x64-cuda)
wants() { [[ " ${targets[*]} " == *" $1 "* ]]; }

if wants linux-x64; then
  rm -f prebuilds/linux-x64/ipo.node prebuilds/linux-x64/libipo.so
  build build-prebuild-x64 x86_64
  ship prebuilds/linux-x64 build-prebuild-x64/Release/ipo.node build-prebuild-x64/Release/libipo.so
fi
if wants linux-arm64; then
  rm -rf prebuilds/linux-arm64
  build build-prebuild-arm64 aarch64
  ship prebuilds/linux-arm64 build-prebuild-arm64/Release/ipo.node build-prebuild-arm64/Release/libipo.so
fi

wants linux-x64-cuda || exit 0
rm -f prebuilds/linux-x64/ipo_cuda.node prebuilds/linux-x64/libipo_cuda.so
NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/bin/nvcc ] && NVCC=/usr/local/bin/nvcc
if [ -z "${IPO_SKIP_CUDA:-}" ] && [ -n "$NVCC" ] && compgen -G "native/cuda/*.cu" >/dev/null; then
  # Not zig: nvcc refuses libc++ as the host C++ library on x86 ("libc++ is not supported on x86
  # system"; past _ALLOW_UNSUPPORTED_LIBCPP its math_functions.h clashes with glibc's declarations). So
  # the CUDA binaries are compiled with the system g++ (static libstdc++, static CUDA runtime) and linked
  # against zig's glibc 2.28 stub libraries (IPO_GLIBC_STUBS in CMakeLists.txt).
  stubs="$PWD/build-toolchain/glibc-$GLIBC-x86_64"
  make_glibc_stubs "$stubs"
  mkdir -p build-prebuild-cuda
  { npx cmake-js configure --out build-prebuild-cuda --CDIPO_WITH_CUDA=ON --CDCMAKE_CUDA_COMPILER="$NVCC" \
      --CDIPO_GLIBC_STUBS="$stubs" --CDCMAKE_SHARED_LINKER_FLAGS="-Wl,--strip-all -Wl,-z,nodelete" &&
      npx cmake-js build --out build-prebuild-cuda; } >build-prebuild-cuda/build.log 2>&1 ||
    { tail -n 40 build-prebuild-cuda/build.log >&2; echo "build-prebuilds.sh: the CUDA build failed (log: build-prebuild-cuda/build.log)" >&2; exit 1; }
  ship prebuilds/linux-x64 build-prebuild-cuda/Release/ipo_cuda.node build-prebuild-cuda/Release/libipo_cuda.so
else
  echo "no CUDA binary (nvcc not found, no CUDA sources, or IPO_SKIP_CUDA set)"
fi
