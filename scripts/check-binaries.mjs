#!/usr/bin/env node
// Checks the binaries a packed ipo-node tarball ships, as a user's machine will see them:
//   - every prebuilds/**/*.node and *.so needs no GLIBC symbol version above its limit and no
//     GLIBCXX / CXXABI version at all (the C++ library is linked in, never taken from the system);
//   - each binary's ELF machine matches its folder (prebuilds/linux-arm64/ holds aarch64 code);
//   - the tarball is under 6 MB.
// Usage: node scripts/check-binaries.mjs ipo-node-X.Y.Z.tgz
// Exits 1 naming each offending binary and symbol. Reads dynamic symbols with `objdump -T` (binutils)
// and the ELF header itself. Writes {"passed","failed"} to $IPO_TEST_SUMMARY when set.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readSync, closeSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const MAX_TARBALL_BYTES = 6 * 1024 * 1024;
const GLIBC_LIMIT = '2.28';
// Binaries allowed a newer floor, with the reason printed beside them (none today: the CUDA binaries,
// built with g++ for nvcc, are linked against glibc 2.28 stubs too; see docs/prebuilds.md).
const KNOWN_EXCEPTIONS = {};
const MACHINES = { 'linux-x64': 0x3e, 'linux-arm64': 0xb7 }; // EM_X86_64, EM_AARCH64
const MACHINE_NAMES = { 0x3e: 'x86-64', 0xb7: 'aarch64' };

const tarball = process.argv[2];
if (!tarball) {
  console.error('usage: node scripts/check-binaries.mjs PACKAGE.tgz');
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

const versionKey = (v) => v.split('.').map(Number);
function newer(a, b) {
  const x = versionKey(a), y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
}

// { symbol, family, version } for every versioned dynamic symbol the binary imports or defines.
function symbolVersions(file) {
  const out = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const rows = [];
  for (const line of out.split('\n')) {
    const m = line.match(/\(?\b(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)?\s+(\S+)\s*$/);
    if (m) rows.push({ family: m[1], version: m[2], symbol: m[3] });
  }
  return rows;
}

// Strong undefined dynamic symbols with no version (weak ones, like __gmon_start__, may stay unresolved).
function unversionedImports(file) {
  const out = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.split('\n').filter((l) => /\*UND\*/.test(l) && !/\(?[A-Z]+_[0-9.]+\)?\s+\S+\s*$/.test(l) && !/^\S+\s+w\s/.test(l))
    .map((l) => l.trim().split(/\s+/).pop());
}

function elfMachine(file) {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return null; // not ELF
  return header.readUInt16LE(18);
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

const size = statSync(tarball).size;
check(`tarball under 6 MB`, size < MAX_TARBALL_BYTES, `${(size / 1024 / 1024).toFixed(2)} MB`);

const work = mkdtempSync(join(tmpdir(), 'ipo-check-'));
try {
  execFileSync('tar', ['-xzf', tarball, '-C', work]);
  const prebuilds = join(work, 'package', 'prebuilds');
  const binaries = [...walk(prebuilds)].filter((f) => /\.(node|so)$/.test(f));
  check('the tarball ships prebuilt binaries', binaries.length > 0, `${binaries.length} found`);
  for (const want of ['linux-x64/ipo.node', 'linux-x64/libipo.so', 'linux-arm64/ipo.node', 'linux-arm64/libipo.so'])
    check(`ships prebuilds/${want}`, binaries.some((f) => relative(prebuilds, f) === want));

  for (const file of binaries) {
    const name = relative(prebuilds, file);
    const folder = name.split('/')[0];
    const machine = elfMachine(file);
    check(`${name} is a ${MACHINE_NAMES[MACHINES[folder]] ?? '?'} ELF`, machine !== null && machine === MACHINES[folder],
      `e_machine ${machine === null ? 'not ELF' : `0x${machine.toString(16)} (${MACHINE_NAMES[machine] ?? 'unknown'})`}`);

    const rows = symbolVersions(file);
    const limit = KNOWN_EXCEPTIONS[name] ?? GLIBC_LIMIT;
    const glibc = rows.filter((r) => r.family === 'GLIBC');
    const highest = glibc.reduce((best, r) => (!best || newer(r.version, best.version) ? r : best), null);
    const over = glibc.filter((r) => newer(r.version, limit));
    const overNames = [...new Set(over.map((r) => `${r.symbol}@GLIBC_${r.version}`))];
    check(`${name} needs glibc <= ${limit}${limit !== GLIBC_LIMIT ? ` (known exception to ${GLIBC_LIMIT})` : ''}`,
      over.length === 0,
      over.length ? `needs ${overNames.slice(0, 8).join(', ')}${overNames.length > 8 ? ` and ${overNames.length - 8} more` : ''}`
        : `highest GLIBC_${highest?.version ?? 'none'}${highest ? ` (${highest.symbol})` : ''}`);
    if (name.endsWith('.so')) {
      // A plain C library imports nothing but versioned system symbols: an unversioned strong import
      // is a symbol the glibc 2.28 stubs lacked at link time, which would fail to resolve at load.
      const stray = unversionedImports(file);
      check(`${name} imports no unversioned symbol`, stray.length === 0, stray.slice(0, 8).join(', '));
    }
    const cxx = rows.filter((r) => r.family !== 'GLIBC');
    const cxxNames = [...new Set(cxx.map((r) => `${r.symbol}@${r.family}_${r.version}`))];
    check(`${name} needs no system C++ library (GLIBCXX/CXXABI)`, cxx.length === 0,
      cxx.length ? `needs ${cxxNames.slice(0, 8).join(', ')}${cxxNames.length > 8 ? ` and ${cxxNames.length - 8} more` : ''}` : '');
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`check-binaries: ${passed} passed, ${failed} failed`);
if (process.env.IPO_TEST_SUMMARY) writeFileSync(process.env.IPO_TEST_SUMMARY, JSON.stringify({ passed, failed }));
process.exit(failed ? 1 : 0);
