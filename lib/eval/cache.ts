/**
 * Append-only JSONL caches that make runs resumable: one record a line, written (and handed to the
 * OS) as soon as it exists, so a crash loses at most the line being written. On start the file is
 * read back; a torn last line is ignored, a bad line elsewhere is an error naming it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class JsonlCache<T extends { key: string }> {
  private readonly records = new Map<string, T>();

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path)) return;
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let value: T;
      try {
        value = JSON.parse(line) as T;
      } catch {
        if (i === lines.length - 1) return; // torn by a crash mid-write
        throw new Error(`${path}:${i + 1}: not a JSON line (delete the line or the file to recompute it)`);
      }
      if (typeof value?.key === 'string') this.records.set(value.key, value);
    });
  }

  get size(): number {
    return this.records.size;
  }

  get(key: string): T | undefined {
    return this.records.get(key);
  }

  put(record: T): void {
    appendFileSync(this.path, JSON.stringify(record) + '\n');
    this.records.set(record.key, record);
  }
}

/** Runs `work` over the items with at most `limit` in flight; collects per-item errors instead of stopping. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<Array<{ index: number; error: unknown }>> {
  const failures: Array<{ index: number; error: unknown }> = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failures.push({ index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return failures.sort((a, b) => a.index - b.index);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
