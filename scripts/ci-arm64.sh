#!/usr/bin/env bash
# linux-arm64 under emulation (qemu-user; no arm64 machine and no binfmt_misc needed):
#   a. the arm64 addon, cross-compiled with zig for glibc 2.28 (scripts/build-prebuilds.sh linux-arm64)
#   b. an arm64 Debian root with Node 20 (mmdebstrap --variant=extract: unpacks, runs nothing)
#   c. the C++ core tests, cross-built, run by ctest through qemu-aarch64 (every SIMD level the
#      emulated CPU has: scalar and neon)
#   d. the Node API parity and validation suites (test/loss/parity.test.ts, test/loss/validation.test.ts)
#      run by vitest on the arm64 Node against prebuilds/linux-arm64/ipo.node
# Everything lives inside the clone (build-*/); writes {"passed","failed","skipped"} (the shape of
# test/support/summary-reporter.ts) to $IPO_TEST_SUMMARY when set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SYSROOT="$ROOT/build-arm64-root"
timer=$(date +%s)
lap() { local now; now=$(date +%s); echo "[ci-arm64] $1: $((now - timer)) s"; timer=$now; }

need=()
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v objdump >/dev/null || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -d node_modules/vitest ] || npm ci
lap "system packages"

# a. The addon (cmake reuses build-prebuild-arm64/ when ci-package.sh already built it).
bash scripts/build-prebuilds.sh linux-arm64
ADDON="$ROOT/prebuilds/linux-arm64/ipo.node"
file_arch=$(node -e 'const b = require("fs").readFileSync(process.argv[1]); console.log(b.readUInt16LE(18) === 0xb7 ? "aarch64" : "not aarch64")' "$ADDON")
echo "prebuilds/linux-arm64/ipo.node: $file_arch ELF, highest $(objdump -T "$ADDON" | grep -oE 'GLIBC_[0-9.]+' | sort -uV | tail -1)"
[ "$file_arch" = aarch64 ]
lap "arm64 addon"

# b. Node 20 for arm64 from the Debian archive this machine already uses.
if [ ! -x "$SYSROOT/usr/bin/node" ]; then
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rm -rf "$SYSROOT"
  mmdebstrap --quiet --arch=arm64 --variant=extract --include=nodejs stable "$SYSROOT" "$mirror"
  ln -sfn usr/lib "$SYSROOT/lib"  # the extract variant leaves out the merged-/usr links; the loader is /lib/ld-linux-aarch64.so.1
fi
arm64_node() { qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/node" "$@"; }
echo "emulated node: $(arm64_node -p 'process.platform + "-" + process.arch + " " + process.version')"
lap "arm64 root"

# c. C++ core tests.
TOOLS=$(bash scripts/zig-toolchain.sh)
cmake -S . -B build-arm64-test -DIPO_BUILD_TESTS=ON -DIPO_BUILD_SHARED=OFF -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
  -DCMAKE_C_COMPILER="$TOOLS/aarch64-linux-gnu.2.28-cc" -DCMAKE_CXX_COMPILER="$TOOLS/aarch64-linux-gnu.2.28-c++" \
  "-DCMAKE_CROSSCOMPILING_EMULATOR=qemu-aarch64;-L;$SYSROOT" >/dev/null
cmake --build build-arm64-test -j2 >/dev/null
ctest_log=$(mktemp)
ctest --test-dir build-arm64-test -V 2>&1 | tee "$ctest_log" | grep -E 'simd|checks,|skip|FAIL|tests passed|tests failed' || true
grep -q 'simd neon' "$ctest_log" || { echo "the core tests did not dispatch to NEON"; exit 1; }
ctest_total=$(grep -oE 'tests failed out of [0-9]+' "$ctest_log" | grep -oE '[0-9]+$' || echo 0)
ctest_failed=$(grep -oE '[0-9]+ tests failed out of' "$ctest_log" | grep -oE '^[0-9]+' || echo 1)
lap "C++ core tests under qemu"

# d. The Node API suites on the arm64 Node. vitest's bundler (rolldown) and CSS parser (lightningcss)
# load native bindings per CPU: fetch the arm64 ones at the versions and checksums package-lock.json pins.
for dep in @rolldown/binding-linux-arm64-gnu lightningcss-linux-arm64-gnu; do
  if [ ! -f "node_modules/$dep/package.json" ]; then
    read -r version integrity < <(node -e '
      const p = require("./package-lock.json").packages["node_modules/" + process.argv[1]];
      if (!p) { console.error("package-lock.json has no " + process.argv[1]); process.exit(1); }
      console.log(p.version, p.integrity)' "$dep")
    dl=$(mktemp -d)
    (cd "$dl" && npm pack --json --silent --dry-run=false --pack-destination "$dl" "$dep@$version" >pack.json)
    got=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].integrity)' "$dl/pack.json")
    [ "$got" = "$integrity" ] || { echo "$dep@$version: integrity $got, package-lock.json pins $integrity"; exit 1; }
    mkdir -p "node_modules/$dep"
    tar -xzf "$dl"/*.tgz -C "node_modules/$dep" --strip-components=1
    rm -rf "$dl"
  fi
done
[ -f dist/index.js ] || npm run build:ts >/dev/null
simd=$(IPO_ADDON_PATH="$ADDON" arm64_node --input-type=module -e 'import { backendInfo } from "./dist/index.js"; console.log(backendInfo().simd)')
echo "arm64 addon backend simd: $simd"
[ "$simd" = neon ]
vitest_summary=$(mktemp)
# threads, not forks: a forked worker would exec the arm64 node binary directly, which needs binfmt_misc.
IPO_ADDON_PATH="$ADDON" IPO_TEST_SUMMARY="$vitest_summary" \
  arm64_node node_modules/vitest/vitest.mjs run --pool=threads test/loss/parity.test.ts test/loss/validation.test.ts
lap "Node API suites under qemu"

node -e '
  const fs = require("fs");
  const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const total = +process.argv[2], failed = +process.argv[3];
  const s = { passed: v.passed + total - failed, failed: v.failed + failed, skipped: v.skipped || 0 };
  console.log(`ci-arm64: ${s.passed} passed, ${s.failed} failed (vitest ${v.passed}/${v.passed + v.failed}, ctest ${total - failed}/${total})`);
  if (process.env.IPO_TEST_SUMMARY) fs.writeFileSync(process.env.IPO_TEST_SUMMARY, JSON.stringify(s));
  process.exit(s.failed ? 1 : 0);
' "$vitest_summary" "$ctest_total" "$ctest_failed"
