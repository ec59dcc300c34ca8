/**
 * Where a run's records go, and what a resumed run may skip.
 *
 * Files (for --output OUT):
 *  - ipo format: OUT holds the pair records; trl format: OUT holds TRL rows and OUT.ipo.jsonl the full
 *    records (written first, line for line in the same order, so a TRL row lost to a crash between
 *    the two writes is rebuilt from its record on resume).
 *  - OUT.skipped.jsonl: {id, unit, reason} for each unit without a pair (unit '*': the whole prompt).
 * A unit is finished when its (id, unit) is in the records or in the skipped file; --resume skips
 * finished units. Without --resume an existing non-empty output is an error (no silent mixing of
 * runs); --force starts the files afresh.
 */
import { existsSync, statSync, truncateSync } from 'node:fs';
import type { ChatTemplate } from '../model/chat-template.js';
import { JsonlAppender, readJsonl, readJsonlLines, repairTail } from '../run/jsonl.js';
import { type IpoPair, type SkippedRecord, toTrlRow, validatePair } from '../pairs/record.js';

export interface StoreOptions {
  output: string;
  format: 'ipo' | 'trl';
  resume: boolean;
  force?: boolean;
  /** Needed for the trl format. */
  chatTemplate?: ChatTemplate;
}

export interface PairStore {
  readonly recordsPath: string;
  readonly skippedPath: string;
  /** Whether (id, unit) is finished. */
  isDone(id: string, unit: string): boolean;
  /** Records already in the files when the store was opened. */
  readonly resumedPairs: number;
  readonly resumedSkipped: number;
  writePair(pair: IpoPair): void;
  writeSkipped(record: SkippedRecord): void;
  close(): void;
}

export function skippedPathFor(output: string): string {
  return `${output}.skipped.jsonl`;
}

export function openPairStore(options: StoreOptions): PairStore {
  const { output, format } = options;
  if (format === 'trl' && !options.chatTemplate) throw new Error('--format trl needs --chat-template (the prompt column is the rendered context)');
  const recordsPath = format === 'trl' ? `${output}.ipo.jsonl` : output;
  const skippedPath = skippedPathFor(output);
  const files = format === 'trl' ? [output, recordsPath, skippedPath] : [output, skippedPath];
  const nonEmpty = files.filter((f) => existsSync(f) && statSync(f).size > 0);
  if (nonEmpty.length && !options.resume) {
    if (!options.force) throw new Error(`${nonEmpty[0]} already exists: pass --resume to continue it or --force to start over`);
    for (const f of nonEmpty) truncateSync(f, 0);
  }
  for (const f of files) repairTail(f);

  const done = new Set<string>();
  const wholePrompt = new Set<string>();
  const records = readJsonlLines(recordsPath).map(({ line, value }) => validatePair(value, `${recordsPath}:${line}`));
  for (const r of records) done.add(keyOf(r.id, r.unit));
  const skipped = readJsonl<SkippedRecord>(skippedPath);
  for (const s of skipped) {
    if (s.unit === '*') wholePrompt.add(String(s.id));
    else done.add(keyOf(String(s.id), s.unit));
  }

  const recordsOut = new JsonlAppender(recordsPath);
  const skippedOut = new JsonlAppender(skippedPath);
  let trlOut: JsonlAppender | undefined;
  if (format === 'trl') {
    const trlCount = readJsonl(output).length;
    if (trlCount > records.length) throw new Error(`${output} has more rows than ${recordsPath}: they do not belong together`);
    trlOut = new JsonlAppender(output);
    for (const r of records.slice(trlCount)) trlOut.append(toTrlRow(r, options.chatTemplate!));
  }
  return {
    recordsPath,
    skippedPath,
    resumedPairs: records.length,
    resumedSkipped: skipped.length,
    isDone: (id, unit) => wholePrompt.has(id) || done.has(keyOf(id, unit)),
    writePair(pair) {
      recordsOut.append(pair);
      trlOut?.append(toTrlRow(pair, options.chatTemplate!));
      done.add(keyOf(pair.id, pair.unit));
    },
    writeSkipped(record) {
      skippedOut.append(record);
      if (record.unit === '*') wholePrompt.add(record.id);
      else done.add(keyOf(record.id, record.unit));
    },
    close() {
      recordsOut.close();
      skippedOut.close();
      trlOut?.close();
    },
  };
}

function keyOf(id: string, unit: string): string {
  return `${id}\u0000${unit}`;
}
