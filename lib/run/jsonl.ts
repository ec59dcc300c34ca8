/**
 * The one resumable JSONL store. Every resumable file of the pipeline (pair records, skipped
 * records, model-call caches, evaluation generations and judgements, CSR continuations) is
 * append-only JSONL written through here:
 *  - each record is one line written with a single synchronous append, so a crash loses at most the
 *    line being written;
 *  - on reopening, a torn last line (the process died mid-write) is cut off, so the next record
 *    starts on a line of its own;
 *  - on reading, a torn last line is ignored and a bad line elsewhere is an error naming it.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class JsonlAppender {
  private fd: number;
  constructor(
    readonly path: string,
    private readonly durable = false,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    repairTail(path);
    this.fd = openSync(path, 'a');
  }
  append(record: unknown): void {
    writeSync(this.fd, JSON.stringify(record) + '\n');
    if (this.durable) fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Cuts a file back to its last newline (drops a torn last line); returns how many bytes were dropped. */
export function repairTail(path: string): number {
  if (!existsSync(path)) return 0;
  const size = statSync(path).size;
  if (size === 0) return 0;
  const text = readFileSync(path);
  const keep = text.lastIndexOf(0x0a) + 1;
  if (keep === size) return 0;
  truncateSync(path, keep);
  return size - keep;
}

/** The parsed complete lines of a JSONL file ([] when it does not exist); a torn last line is ignored. */
export function readJsonl<T = unknown>(path: string): T[] {
  return readJsonlLines<T>(path).map((l) => l.value);
}

/** As readJsonl, with each record's 1-based line number (for errors that name the line). */
export function readJsonlLines<T = unknown>(path: string): Array<{ line: number; value: T }> {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Array<{ line: number; value: T }> = [];
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    try {
      out.push({ line: i + 1, value: JSON.parse(text) as T });
    } catch {
      if (i !== lines.length - 1) throw new Error(`${path}:${i + 1}: not a JSON line (the file is corrupt: delete the line or the file to recompute it)`);
    }
  });
  return out;
}

/**
 * The records of a JSONL input file's text, each with its 1-based line number. Unlike a store read
 * back after a crash, an input has no torn tail: every non-blank line must be JSON, and the error
 * names the first that is not (with `hint` saying what was expected).
 */
export function parseJsonlText<T = unknown>(text: string, path: string, hint?: string): Array<{ line: number; value: T }> {
  const out: Array<{ line: number; value: T }> = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push({ line: i + 1, value: JSON.parse(line) as T });
    } catch {
      throw new Error(`${path}:${i + 1}: not a JSON line${hint ? ` (${hint})` : ''}`);
    }
  });
  return out;
}

/**
 * Records with a string `key`, kept in memory and appended to a JSONL file as they are put; on
 * opening, the file is read back and the last line for a key wins. Close it when done.
 */
export class KeyedJsonl<T extends { key: string }> {
  private readonly records = new Map<string, T>();
  private readonly appender: JsonlAppender;

  constructor(readonly path: string) {
    repairTail(path);
    for (const record of readJsonl<T>(path)) if (typeof record?.key === 'string') this.records.set(record.key, record);
    this.appender = new JsonlAppender(path);
  }

  get size(): number {
    return this.records.size;
  }

  get(key: string): T | undefined {
    return this.records.get(key);
  }

  put(record: T): void {
    this.appender.append(record);
    this.records.set(record.key, record);
  }

  close(): void {
    this.appender.close();
  }
}
