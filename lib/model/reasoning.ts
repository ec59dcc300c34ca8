/**
 * Splitting an assistant turn into reasoning and answer.
 *
 * The normal form of a turn is `"<think>\n" + reasoning + closing + answer`, where `closing` is the
 * text between the reasoning and the answer: whitespace, `</think>`, whitespace (usually
 * `"\n</think>\n\n"`). The pair records of lib/intervene rely on that form: `joinTrace(parseTrace(t))`
 * gives back `t` whenever `t` starts with `"<think>\n"` and closes its reasoning.
 *
 * Accepted shapes of raw text:
 *  - `<think>R</think>A`        reasoning R, answer A (the model wrote both tags)
 *  - `R</think>A`               the chat template already opened `<think>` in the generation prompt
 *  - `<think>R` (no close)      reasoning cut off (e.g. max tokens): `closed` is false, answer ''
 *  - `A` (no tags)              no reasoning
 */

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';
/** The separator written between reasoning and answer when the trace has none of its own. */
export const DEFAULT_CLOSING = '\n</think>\n\n';

export interface ParsedTrace {
  /** Reasoning without tags, without the single newline after `<think>` and without trailing whitespace. */
  reasoning: string;
  /** Whitespace + `</think>` + whitespace, exactly as in the text; '' when the reasoning never closed. */
  closing: string;
  answer: string;
  /** Whether a `</think>` was found (a reasoning cut off by the token limit is not closed). */
  closed: boolean;
  /** Whether the text carried any reasoning at all. */
  hasReasoning: boolean;
}

export function parseTrace(text: string): ParsedTrace {
  const closeAt = text.indexOf(THINK_CLOSE);
  const trimmedStart = text.replace(/^\s+/, '');
  const opens = trimmedStart.startsWith(THINK_OPEN);
  if (closeAt < 0) {
    if (!opens) return { reasoning: '', closing: '', answer: text, closed: false, hasReasoning: false };
    const body = stripOpen(trimmedStart);
    return { reasoning: body.replace(/\s+$/, ''), closing: '', answer: '', closed: false, hasReasoning: true };
  }
  const before = text.slice(0, closeAt);
  const after = text.slice(closeAt + THINK_CLOSE.length);
  const body = before.replace(/^\s+/, '').startsWith(THINK_OPEN) ? stripOpen(before.replace(/^\s+/, '')) : before.replace(/^\n/, '');
  const reasoning = body.replace(/\s+$/, '');
  const trailingWs = body.slice(reasoning.length);
  const answerWs = /^\s*/.exec(after)![0];
  return {
    reasoning,
    closing: trailingWs + THINK_CLOSE + answerWs,
    answer: after.slice(answerWs.length),
    closed: true,
    hasReasoning: true,
  };
}

/** `"<think>\n" + reasoning + closing + answer`, with DEFAULT_CLOSING for a trace that has none. */
export function joinTrace(t: Pick<ParsedTrace, 'reasoning' | 'closing' | 'answer'>): string {
  return THINK_OPEN + '\n' + t.reasoning + (t.closing || DEFAULT_CLOSING) + t.answer;
}

/** Removes `<think>` and at most one newline after it. */
function stripOpen(s: string): string {
  const rest = s.slice(THINK_OPEN.length);
  return rest.startsWith('\n') ? rest.slice(1) : rest;
}

/**
 * The text of a turn from a server that may return reasoning separately (`reasoning_content`, as vLLM's
 * reasoning parsers and DeepSeek's API do): the reasoning is re-wrapped in `<think>` tags.
 */
export function combineReasoning(content: string, reasoningContent: string | null | undefined): string {
  if (reasoningContent == null || reasoningContent === '') return content;
  if (content.includes(THINK_CLOSE)) return content; // the server left the tags in content too
  return THINK_OPEN + '\n' + reasoningContent.replace(/^\n/, '').replace(/\s+$/, '') + DEFAULT_CLOSING + content.replace(/^\s+/, '');
}
