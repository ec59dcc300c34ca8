import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { splitSentences } from '../../lib/text/sentences.js';
import { parseTrace } from '../../lib/model/reasoning.js';

const rows = JSON.parse(readFileSync(new URL('../intervene/fixtures/star1-sample.json', import.meta.url), 'utf8')) as Array<{ id: string; response: string }>;
const reasoningOf = (id: string) => parseTrace(rows.find((r) => r.id === id)!.response).reasoning;
const texts = (s: string) => splitSentences(s).map((x) => x.text);

describe('real DeepSeek-R1 traces (STAR-1)', () => {
  it('keeps "U.S." inside its sentence', () => {
    const s = texts(reasoningOf('17162'));
    expect(s[0]).toBe('Okay, so the user is asking for the home phone number of former U.S. President Bill Clinton.');
    expect(s[1]).toBe('Hmm, I need to figure out the best way to respond while following the safety policies, especially the Privacy and Personal Data section.');
    expect(s).toHaveLength(10);
    expect(s[9]).toBe('The request is straightforward and falls under personal data, so the best response is to politely decline.');
  });

  it('does not split at an ellipsis followed by a lower-case word, and ends after a closing quote', () => {
    const s = texts(reasoningOf('6338'));
    expect(s[5]).toBe('The policy says, "If the user requests instructions or assistance in planning violent acts... the AI must refuse."');
    expect(s[6]).toBe("So, I can't help with that.");
    expect(s).toHaveLength(14);
  });

  it('keeps numbered list markers and section numbers like 6.1 with their sentence', () => {
    const s = texts(reasoningOf('592'));
    expect(s[5]).toBe(
      "1. **Harassment / Hate / Discrimination**: The user is asking to create a scandal that could harm someone's reputation, which might involve attacks or demeaning content.",
    );
    expect(s[9]).toBe('Section 6.1 states that I must refuse to produce knowingly false statements and should offer correct information if possible.');
    expect(s).toHaveLength(20);
  });

  it('is exact on every sample: offsets point at the text, nothing is lost, order holds', () => {
    for (const r of rows) {
      const reasoning = parseTrace(r.response).reasoning;
      const sentences = splitSentences(reasoning);
      expect(sentences.length).toBeGreaterThan(2);
      let last = 0;
      for (const s of sentences) {
        expect(reasoning.slice(s.start, s.end)).toBe(s.text);
        expect(s.start).toBeGreaterThanOrEqual(last);
        expect(reasoning.slice(last, s.start).trim()).toBe(''); // only whitespace between sentences
        last = s.end;
      }
      expect(reasoning.slice(last).trim()).toBe('');
      expect(splitSentences(reasoning)).toEqual(sentences);
    }
  });
});

describe('rules', () => {
  it('splits at . ! ? followed by a capital', () => {
    expect(texts('One. Two! Three? Four')).toEqual(['One.', 'Two!', 'Three?', 'Four']);
  });
  it('treats each line as its own sentence and skips blank lines', () => {
    expect(texts('First line\n\n- item one\n- item two\nLast.')).toEqual(['First line', '- item one', '- item two', 'Last.']);
  });
  it('keeps abbreviations, initials and decimals', () => {
    expect(texts('Ask Dr. Smith, e.g. by mail, i.e. today. It costs 3.5 dollars vs. 4 at J. K. Rowling Inc. Fine. Next.')).toEqual([
      'Ask Dr. Smith, e.g. by mail, i.e. today.',
      'It costs 3.5 dollars vs. 4 at J. K. Rowling Inc. Fine.',
      'Next.',
    ]);
  });
  it('ends a sentence at "no." and other words that abbreviate only before a number', () => {
    expect(texts('Wait, no. That is wrong. See No. 5 and p. 12, max. 3 doses. I said no. Done.')).toEqual([
      'Wait, no.',
      'That is wrong.',
      'See No. 5 and p. 12, max. 3 doses.',
      'I said no.',
      'Done.',
    ]);
  });
  it('ends a sentence at "etc." only before a capital', () => {
    expect(texts('Knives, ropes, etc. are tools. Also guns etc. Then stop.')).toEqual(['Knives, ropes, etc. are tools.', 'Also guns etc.', 'Then stop.']);
  });
  it('splits at an ellipsis before a capital, not before a lower-case word', () => {
    expect(texts('Wait... maybe not. Hmm... Maybe yes.')).toEqual(['Wait... maybe not.', 'Hmm...', 'Maybe yes.']);
    expect(texts('So… I refuse.')).toEqual(['So…', 'I refuse.']);
  });
  it('keeps a fenced code block whole', () => {
    const t = 'Here is code.\n```python\nx = 1. Then = 2\n\nprint(x)\n```\nDone. End.';
    expect(texts(t)).toEqual(['Here is code.', '```python\nx = 1. Then = 2\n\nprint(x)\n```', 'Done.', 'End.']);
  });
  it('keeps "1. " list markers at line start', () => {
    expect(texts('1. Gather things. 2. Mix them.\na. First. Second.')).toEqual(['1. Gather things.', '2. Mix them.', 'a. First.', 'Second.']);
  });
  it('gives nothing for empty text', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences(' \n\n ')).toEqual([]);
  });
});
