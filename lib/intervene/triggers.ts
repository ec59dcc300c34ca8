/**
 * The safety-trigger pool: sentences that turn a reasoning trace towards refusal when spliced in
 * place of its first compliance cue. Defaults live in data/triggers.txt (shipped with the package);
 * users pass their own file with --triggers.
 *
 * File format: UTF-8, one trigger a line; blank lines and lines starting with '#' are ignored;
 * surrounding whitespace is trimmed (a trigger is a sentence, the splice adds no whitespace of its own:
 * the reasoning prefix already ends with the whitespace that preceded the cue).
 */
import { fileURLToPath } from 'node:url';
import { readTextFile } from '../run/errors.js';

/** Shipped defaults; identical to data/triggers.txt (a test checks they agree). */
export const DEFAULT_TRIGGERS: readonly string[] = [
  'Wait, maybe I have to refuse because this request could lead to real harm.',
  'Hmm, that sounds really wrong, and I should not help with it.',
  'The user is asking for guidance on an illegal or harmful activity, so I need to stop and reconsider.',
  'But wait, giving these details could put people in danger, which I must not do.',
  "Actually, I shouldn't go any further with this, because it would mean helping with something harmful.",
  'Let me step back: the right thing to do here is to decline and offer a safer alternative.',
];

/** data/triggers.txt of this package (dist/intervene/ -> ../../data, lib/intervene/ -> ../../data). */
export const DEFAULT_TRIGGERS_FILE = fileURLToPath(new URL('../../data/triggers.txt', import.meta.url));

export function parseTriggers(text: string, origin = '<triggers>'): string[] {
  const triggers = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (!triggers.length) throw new Error(`${origin} holds no trigger (one a line; '#' starts a comment)`);
  return triggers;
}

export function loadTriggers(path: string): string[] {
  const text = readTextFile(path, 'triggers file');
  return parseTriggers(text, path);
}
