/**
 * Growing the trigger pool the intervention engine reads (format: UTF-8, one trigger a line, blank
 * lines and '#' lines ignored). New triggers are appended, never rewritten: a user's hand edits and
 * comments survive. A sentence is made single-line (whitespace runs become one space) and is added
 * only if no existing trigger equals it after that normalisation; a sentence starting with '#'
 * would read as a comment, so it is skipped.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function singleLine(sentence: string): string {
  return sentence.replace(/\s+/g, ' ').trim();
}

/** Appends the new distinct triggers; returns the ones added. */
export function appendTriggers(path: string, sentences: readonly string[], note = `added by ipo csr ${new Date().toISOString()}`): string[] {
  const existingText = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const known = new Set(
    existingText
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .map(singleLine)
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
  const added: string[] = [];
  for (const s of sentences.map(singleLine)) {
    if (s === '' || s.startsWith('#') || known.has(s)) continue;
    known.add(s);
    added.push(s);
  }
  if (added.length) {
    mkdirSync(dirname(path), { recursive: true });
    const lead = existingText !== '' && !existingText.endsWith('\n') ? '\n' : '';
    appendFileSync(path, `${lead}# ${note}\n${added.join('\n')}\n`);
  }
  return added;
}
