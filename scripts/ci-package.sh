#!/usr/bin/env bash
# The user's first contact: `npm install ipo-node` from a packed tarball, with no compiler, cmake or
# nvcc on PATH and install scripts disabled, must load a native backend (never silently the JS fallback).
# Before that, scripts/check-binaries.mjs reads every shipped binary (glibc <= 2.28, arm64 is aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d)
tarball=$(npm pack --pack-destination "$WORK" 2>/dev/null | tail -n 1)
size=$(stat -c %s "$WORK/$tarball")
echo "packed $tarball: $(( size / 1024 )) KiB"
tar -tzf "$WORK/$tarball" | grep -E 'prebuilds/' | sed 's/^/  /'

# Every shipped binary: glibc symbol versions within the limits, no system C++ library, the right
# architecture per folder; the tarball under 6 MB. Its counts go beside the smoke test's.
command -v objdump >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils >/dev/null; }
IPO_TEST_SUMMARY="${IPO_TEST_SUMMARY:+${IPO_TEST_SUMMARY%.json}-binaries.json}" node scripts/check-binaries.mjs "$WORK/$tarball"

# A PATH with node and npm only.
BIN="$WORK/bin"
mkdir -p "$BIN"
for tool in node npm npx; do ln -s "$(command -v $tool)" "$BIN/$tool"; done
for tool in sh bash env cat mkdir rm ls tar gzip; do p=$(command -v $tool || true); [ -n "$p" ] && ln -sf "$p" "$BIN/$tool"; done
for tool in gcc cc g++ c++ clang cmake make nvcc; do
  if PATH="$BIN" command -v "$tool" >/dev/null 2>&1; then echo "toolchain still on PATH: $tool"; exit 1; fi
done

APP="$WORK/app"
mkdir -p "$APP"
cp scripts/package-smoke.mjs "$APP/"
(cd "$APP" && PATH="$BIN" npm init -y >/dev/null && PATH="$BIN" npm install --ignore-scripts --no-audit --no-fund "$WORK/$tarball" >/dev/null)
(cd "$APP" && PATH="$BIN" IPO_TARBALL_BYTES="$size" node package-smoke.mjs)
(cd "$APP" && PATH="$BIN" npx ipo doctor)
