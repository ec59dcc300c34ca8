/**
 * The one error formatter for logs, skip reasons and failure lists. An HTTP error (anything with a
 * numeric `status`, as the OpenAI client's APIError has) reads `HTTP 503: message`; another Error
 * reads `Name: message` (plain `Error`s just `message`); anything else is stringified. Only the first
 * line is kept. Never includes request headers (they may carry an API key).
 */
import { readFileSync } from 'node:fs';

export function formatError(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { status?: unknown }).status;
    const message = err.message.split('\n')[0]!;
    if (typeof status === 'number') return `HTTP ${status}: ${message}`;
    return err.name && err.name !== 'Error' ? `${err.name}: ${message}` : message;
  }
  return String(err).split('\n')[0]!;
}

/**
 * A text file's contents (a leading byte-order mark dropped), or an error that says what the file was
 * for and why it could not be read: `cannot read prompts in.jsonl: ENOENT`.
 */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? formatError(err)}`);
  }
}
