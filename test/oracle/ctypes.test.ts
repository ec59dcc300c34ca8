/**
 * The C ABI from Python ctypes (libipo.so, built beside the addon by cmake-js), checked against
 * PyTorch autograd. Runs where /usr/bin/python3 has torch and numpy (CI installs python3-torch).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const PYTHON = process.env.IPO_TORCH_PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
const lib = join(resolve(__dirname, '..', '..'), 'build', 'Release', 'libipo.so');
if (!hasTorch) console.warn(`ctypes check skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch)`);

describe.skipIf(!hasTorch)('libipo.so through Python ctypes', () => {
  it('computes the DPO loss and gradient that PyTorch autograd computes, and refuses a bad label by name', () => {
    expect(existsSync(lib), `${lib} is built by npm run build:native`).toBe(true);
    const child = spawnSync(PYTHON, [join(__dirname, 'ctypes_check.py'), lib], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const r = JSON.parse(child.stdout);
    expect(r.status).toBe(0);
    expect(r.lossRelError).toBeLessThan(1e-5);
    expect(r.chosenRelError).toBeLessThan(1e-5);
    expect(r.gradRelNorm).toBeLessThan(1e-5);
    expect(r.badStatus).toBe(2); // IPO_ERR_RANGE
    expect(r.badArgument).toBe('labels');
    expect([r.badSequence, r.badPosition]).toEqual([1, 3]);
  });
});
