/** The summary line both `ipo train` engines print at the end of a run. */
import type { EvalLine } from '../train/metrics.js';

/** '; NAME margin a -> b, accuracy c -> d' from the first to the last evaluation, or '' with fewer than two. */
export function heldoutChange(name: string, lines: readonly EvalLine[]): string {
  const first = lines[0];
  const last = lines[lines.length - 1];
  if (!first || !last || first === last) return '';
  return `; ${name} margin ${first.margin.toFixed(4)} -> ${last.margin.toFixed(4)}, accuracy ${first.accuracy.toFixed(2)} -> ${last.accuracy.toFixed(2)}`;
}
