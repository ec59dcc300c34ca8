import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError } from '../../lib/run/errors.js';
import { cacheKey, fnv1a, sha256Hex } from '../../lib/run/hash.js';
import { JsonlAppender, KeyedJsonl, readJsonl, repairTail } from '../../lib/run/jsonl.js';
import { runPool } from '../../lib/run/pool.js';
import { progressReporter } from '../../lib/run/progress.js';

const dir = mkdtempSync(join(tmpdir(), 'ipo-run-'));

describe('fnv1a', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    // http://www.isthe.com/chongo/src/fnv/test_fnv.c (FNV1A_32): "", "a", "foobar"
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });
  it('hashes the UTF-8 bytes, not UTF-16 code units', () => {
    // 'é' is C3 A9 in UTF-8: two FNV rounds by hand
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a('é')).toBe(h);
  });
  it('sha256Hex and cacheKey match node:crypto digests of known strings', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(cacheKey('a', 1)).toBe(sha256Hex('["a",1]'));
  });
});

describe('the JSONL store', () => {
  it('appends lines, cuts a torn last line on reopening, and reads it back', () => {
    const path = join(dir, 'sub', 'a.jsonl');
    const a = new JsonlAppender(path);
    a.append({ n: 1 });
    a.close();
    appendFileSync(path, '{"n": 2, "tor');
    expect(readJsonl(path)).toEqual([{ n: 1 }]);
    const b = new JsonlAppender(path);
    b.append({ n: 3 });
    b.close();
    expect(readFileSync(path, 'utf8')).toBe('{"n":1}\n{"n":3}\n');
    expect(repairTail(path)).toBe(0);
  });
  it('names the line of a corrupt record that is not the last', () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, '{"n":1}\nnot json\n{"n":2}\n');
    expect(() => readJsonl(path)).toThrow(`${path}:2: not a JSON line`);
  });
  it('KeyedJsonl: the last record for a key wins across reopenings; a torn tail does not glue onto the next record', () => {
    const path = join(dir, 'keyed.jsonl');
    const a = new KeyedJsonl<{ key: string; v: number }>(path);
    a.put({ key: 'x', v: 1 });
    a.put({ key: 'y', v: 2 });
    a.put({ key: 'x', v: 3 });
    a.close();
    appendFileSync(path, '{"key":"z","v":');
    const b = new KeyedJsonl<{ key: string; v: number }>(path);
    expect([b.size, b.get('x')?.v, b.get('y')?.v, b.get('z')]).toEqual([2, 3, 2, undefined]);
    b.put({ key: 'z', v: 4 });
    b.close();
    const c = new KeyedJsonl<{ key: string; v: number }>(path);
    expect(c.get('z')?.v).toBe(4);
    c.close();
  });
});

describe('runPool', () => {
  it('keeps at most `concurrency` in flight, runs every item, and collects failures by index', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const failures = await runPool([0, 1, 2, 3, 4, 5, 6], 3, async (item, index) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5 - (item % 3)));
      inFlight--;
      seen.push(index);
      if (item % 3 === 1) throw new Error(`item ${item}`);
    });
    expect(peak).toBe(3);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(failures.map((f) => [f.index, (f.error as Error).message])).toEqual([
      [1, 'item 1'],
      [4, 'item 4'],
    ]);
  });
  it('returns no failures for no items', async () => {
    expect(await runPool([], 4, async () => {})).toEqual([]);
  });
});

describe('formatError', () => {
  it('reads HTTP errors by status, named errors by name, plain errors by message, first line only', () => {
    const http = Object.assign(new Error('Service Unavailable\nbody'), { status: 503 });
    class DetectorError extends Error {
      override name = 'DetectorError';
    }
    expect(formatError(http)).toBe('HTTP 503: Service Unavailable');
    expect(formatError(new DetectorError('no answer'))).toBe('DetectorError: no answer');
    expect(formatError(new Error('boom'))).toBe('boom');
    expect(formatError('text')).toBe('text');
  });
});

describe('progressReporter', () => {
  it('reports the first tick, then at most once a second, and always the last', () => {
    const messages: string[] = [];
    const tick = progressReporter(4, (done, total) => `${done}/${total}`, (m) => messages.push(m));
    for (let i = 0; i < 4; i++) tick();
    expect(messages).toEqual(['1/4', '4/4']);
  });
});
