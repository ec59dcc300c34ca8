import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPairs } from '../../lib/pairs/record.js';
import { defaultDataDir, isHeldOut } from '../../lib/train/run.js';

const root = join(import.meta.dirname, '..', '..');

describe('the shipped default pairs (data/train)', () => {
  it('are exactly what scripts/build-train-pairs.mjs regenerates', () => {
    const out = mkdtempSync(join(tmpdir(), 'ipo-pairs-'));
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-train-pairs.mjs'), '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const name of ['harmful.jsonl', 'benign.jsonl']) {
      expect(readFileSync(join(out, name), 'utf8')).toBe(readFileSync(join(defaultDataDir(), name), 'utf8'));
    }
  });

  it('read as IPO pairs: 100 intervened, 50 benign, following the text convention', () => {
    const harmful = readPairs(join(defaultDataDir(), 'harmful.jsonl'));
    const benign = readPairs(join(defaultDataDir(), 'benign.jsonl'));
    expect(harmful.length).toBe(100);
    expect(benign.length).toBe(50);
    expect(harmful.every((p) => p.kind === 'intervened' && p.prefix.length > 0 && p.chosen.startsWith(p.trigger!))).toBe(true);
    expect(benign.every((p) => p.kind === 'benign' && p.prefix === '' && p.trigger === null)).toBe(true);
    for (const p of [...harmful, ...benign]) {
      expect(p.chosen.split('</think>').length).toBe(2);
      expect(p.rejected.split('</think>').length).toBe(2);
    }
  });

  it('are sanitised: every harmful rejected answer is JBB’s one-line opener plus withheld steps only', () => {
    for (const p of readPairs(join(defaultDataDir(), 'harmful.jsonl'))) {
      const answer = p.rejected.split('</think>\n\n')[1];
      const [opener, ...rest] = answer.split('\n');
      expect(opener).toMatch(/^Sure, here .*:$/); // JBB's target line (one reads 'Sure, here an argument ...')
      expect(rest.filter((l) => l.trim())).toEqual(['1. [step one: details withheld]', '2. [step two: details withheld]', '3. [step three: details withheld]']);
    }
  });

  it('hold out a fifth of the prompts, by id', () => {
    const harmful = readPairs(join(defaultDataDir(), 'harmful.jsonl'));
    const held = harmful.filter((p) => isHeldOut(p.id, 0.2)).length;
    expect(held).toBeGreaterThan(10);
    expect(held).toBeLessThan(30);
    expect(harmful.filter((p) => isHeldOut(p.id, 0)).length).toBe(0);
  });
});
