import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { combineReasoning, joinTrace, parseTrace } from '../../lib/model/reasoning.js';

describe('parseTrace', () => {
  it('splits tagged reasoning and answer and keeps the separator', () => {
    const p = parseTrace('<think>\nStep one.\nStep two.\n</think>\n\nThe answer.');
    expect(p).toEqual({ reasoning: 'Step one.\nStep two.', closing: '\n</think>\n\n', answer: 'The answer.', closed: true, hasReasoning: true });
  });

  it('reads reasoning whose <think> was in the generation prompt', () => {
    const p = parseTrace('Okay.  </think>Answer');
    expect([p.reasoning, p.closing, p.answer]).toEqual(['Okay.', '  </think>', 'Answer']);
  });

  it('marks a reasoning cut off by the token limit', () => {
    const p = parseTrace('<think>\nI will start by');
    expect([p.reasoning, p.closed, p.answer, p.hasReasoning]).toEqual(['I will start by', false, '', true]);
  });

  it('takes untagged text as an answer', () => {
    expect(parseTrace('Just an answer.')).toMatchObject({ reasoning: '', answer: 'Just an answer.', hasReasoning: false, closed: false });
  });

  it('round-trips every STAR-1 response exactly', () => {
    const rows = JSON.parse(readFileSync(new URL('../intervene/fixtures/star1-sample.json', import.meta.url), 'utf8')) as Array<{ response: string }>;
    let roundTrips = 0;
    for (const r of rows) {
      if (!r.response.startsWith('<think>\n')) continue;
      expect(joinTrace(parseTrace(r.response))).toBe(r.response);
      roundTrips++;
    }
    expect(roundTrips).toBe(rows.length);
  });
});

describe('combineReasoning', () => {
  it('re-wraps reasoning_content in tags', () => {
    expect(combineReasoning('\n\nAnswer.', 'Thinking.\n')).toBe('<think>\nThinking.\n</think>\n\nAnswer.');
  });
  it('leaves content alone when there is no separate reasoning', () => {
    expect(combineReasoning('<think>\na\n</think>\n\nb', undefined)).toBe('<think>\na\n</think>\n\nb');
    expect(combineReasoning('plain', '')).toBe('plain');
  });
});
