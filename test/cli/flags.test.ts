/**
 * One flag convention: the Flags reader's checks, the deprecated aliases, and the shared flags having
 * one name, unit and range in every command that takes them (checked through each command's run()).
 */
import { describe, expect, it } from 'vitest';
import { readConnection, readSampling } from '../../lib/cli/endpoint-flags.js';
import { Flags, UsageError } from '../../lib/cli/flags.js';
import { run as benign } from '../../lib/cli/benign.js';
import { run as csr } from '../../lib/cli/csr.js';
import { run as evalCommand } from '../../lib/cli/eval.js';
import { run as intervene } from '../../lib/cli/intervene.js';
import { run as train } from '../../lib/cli/train.js';
import { capture } from '../support/capture.js';

const flags = (values: Record<string, string | boolean>, notices: string[] = []) => new Flags('test', values, (m) => notices.push(m));

describe('Flags', () => {
  it('checks integers, numbers and choices, naming the flag and the value', () => {
    expect(flags({ n: '3' }).int('n', 1, 8)).toBe(3);
    expect(flags({}).int('n', 1, 8)).toBe(8);
    expect(() => flags({ n: '0' }).int('n', 1)).toThrow(new UsageError("--n must be an integer >= 1, got '0'"));
    expect(() => flags({ n: '2.5' }).int('n', 1)).toThrow("--n must be an integer >= 1, got '2.5'");
    expect(() => flags({ n: '9' }).int('n', 0, 1, 4)).toThrow("--n must be an integer in [0, 4], got '9'");
    expect(flags({ x: '0.5' }).number('x', { min: 0, max: 1 })).toBe(0.5);
    expect(() => flags({ x: '0' }).number('x', { min: 0, above: true })).toThrow("--x must be a number > 0, got '0'");
    expect(() => flags({ x: ' ' }).number('x', { min: 0 })).toThrow("--x must be a number >= 0, got ' '");
    expect(() => flags({ c: 'b' }).choice('c', ['a'] as const, 'a')).toThrow("--c must be one of a, got 'b'");
    expect(() => flags({}).required('input', 'a file')).toThrow('--input is required (a file)');
  });

  it('reads --timeout in seconds; --timeout-ms still works with a deprecation notice', () => {
    expect(readConnection(flags({ timeout: '2.5' }))).toEqual({ timeoutMs: 2500, maxRetries: 4 });
    const notices: string[] = [];
    expect(readConnection(flags({ 'timeout-ms': '1500', 'max-retries': '0' }, notices))).toEqual({ timeoutMs: 1500, maxRetries: 0 });
    expect(notices).toEqual(['--timeout-ms is deprecated: use --timeout SECONDS']);
  });

  it('reads sampling with its defaults and one range', () => {
    expect(readSampling(flags({}))).toEqual({ temperature: 0.6, topP: 0.95 });
    expect(readSampling(flags({ temperature: '2', 'top-p': '1', 'max-tokens': '64', seed: '0' }))).toEqual({ temperature: 2, topP: 1, maxTokens: 64, seed: 0 });
    expect(() => readSampling(flags({ 'max-tokens': '0' }))).toThrow("--max-tokens must be an integer >= 1, got '0'");
  });

  it('--output or its deprecated alias, not both', () => {
    const notices: string[] = [];
    expect(flags({ out: 'a' }, notices).output('d', 'out')).toBe('a');
    expect(notices).toEqual(['--out is deprecated: use --output']);
    expect(flags({}).output('d', 'out')).toBe('d');
    expect(() => flags({ out: 'a', output: 'b' }).output('d', 'out')).toThrow('give --output, not both --output and --out');
  });
});

describe('the shared flags in every command', () => {
  const modelCommands = { intervene, benign, eval: evalCommand, csr };
  const firstLine = (text: string) => text.split('\n')[0];
  // each command's required flags, so that the flag under test is what fails
  const REQUIRED = { intervene: ['--input', 'x', '--output', 'y'], benign: ['--input', 'x', '--output', 'y'], eval: ['--benchmark', 'jbb'], csr: ['--input', 'x'] };

  it.each(Object.entries(modelCommands))('ipo %s: temperature and top-p ranges, --timeout seconds, exit 2 with the usage', async (name, run) => {
    for (const [flag, value, message] of [
      ['--temperature', '2.5', "--temperature must be a number in [0, 2], got '2.5'"],
      ['--top-p', '1.5', "--top-p must be a number in [0, 1], got '1.5'"],
      ['--timeout', '0', "--timeout must be a number in [0.001, 86400], got '0'"],
      ['--concurrency', '0', "--concurrency must be an integer >= 1, got '0'"],
    ] as const) {
      const r = await capture(() => run([...REQUIRED[name as keyof typeof REQUIRED], flag, value]));
      expect(r.code, r.stderr).toBe(2);
      expect(firstLine(r.stderr)).toBe(`ipo ${name}: ${message}`);
      expect(r.stderr).toContain(`usage: ipo ${name}`);
    }
  });

  it.each(Object.entries({ ...modelCommands, train }))('ipo %s takes -o/--output, -q/--quiet and -h/--help', async (_name, run) => {
    const help = await capture(() => run(['-h']));
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/-o, --output/);
    expect(help.stdout).toMatch(/-q, --quiet/);
  });

  it.each(Object.entries(modelCommands))('ipo %s documents --api-key and --timeout in seconds', async (_name, run) => {
    const help = await capture(() => run(['--help']));
    expect(help.stdout).toMatch(/--api-key KEY/);
    expect(help.stdout).toMatch(/--timeout S +seconds per request/);
  });
});
