/**
 * Append-only JSONL files that survive a crash: each record is one line written with a single
 * synchronous append (flushed to the OS before the next record is produced), and on reopening a torn
 * last line (the process died mid-write) is cut off so the next record starts on a line of its own.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';

export class JsonlAppender {
  private fd: number;
  constructor(
    readonly path: string,
    private readonly durable = false,
  ) {
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
  const lastNewline = text.lastIndexOf(0x0a);
  const keep = lastNewline + 1;
  if (keep === size) return 0;
  truncateSync(path, keep);
  return size - keep;
}

/** The parsed complete lines of a JSONL file ([] when it does not exist); a torn last line is ignored. */
export function readJsonl<T = unknown>(path: string): T[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      if (i !== lines.length - 1) throw new Error(`${path}:${i + 1}: not JSON (the file is corrupt)`);
    }
  });
  return out;
}
