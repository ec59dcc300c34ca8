/**
 * A lexical refusal check on the opening of an answer, used by `ipo benign` to keep only pairs whose
 * rejected side really refuses and whose chosen side really answers. Heuristic: the first 300
 * characters of the answer (after the reasoning) contain a typical refusal phrase.
 */
const REFUSAL_OPENINGS = [
  /\bI(?:'m| am) (?:sorry|afraid)\b/i,
  /\bI (?:can(?:no|')t|cannot|won't|will not|am unable to|am not able to|must decline|have to decline|'m unable to|'m not able to)\b/i,
  /\b(?:sorry|apologies),? but\b/i,
  /\bI (?:do not|don't) (?:feel comfortable|think I can)\b/i,
  /\b(?:can(?:no|')t|cannot|unable to) (?:help|assist|provide|comply)\b/i,
];

export function looksLikeRefusal(answer: string): boolean {
  const opening = answer.trim().slice(0, 300);
  return REFUSAL_OPENINGS.some((p) => p.test(opening));
}
