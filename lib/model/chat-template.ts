/**
 * Chat templates (the Jinja in a model's tokenizer_config.json) rendered with @huggingface/jinja, so
 * that a partial assistant turn can be continued through a plain completions endpoint and so that
 * training builds the same token context the model saw while sampling.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from './types.js';
import { THINK_OPEN } from './reasoning.js';

export interface ChatTemplate {
  /** The Jinja source. */
  source: string;
  /** Special tokens the template may reference (bos_token, eos_token, ...), as plain strings. */
  specialTokens: Record<string, string>;
  /** Where it came from (for messages). */
  origin: string;
  /** Compiled once. */
  readonly compiled: Template;
}

export function createChatTemplate(source: string, specialTokens: Record<string, string> = {}, origin = '<inline>'): ChatTemplate {
  let compiled: Template;
  try {
    compiled = new Template(source);
  } catch (err) {
    throw new Error(`chat template ${origin} does not parse: ${(err as Error).message}`);
  }
  return { source, specialTokens, origin, compiled };
}

/**
 * Loads a chat template from a tokenizer_config.json (its `chat_template`, a string or the list of
 * named templates some models ship, of which 'default' is taken) or from a .jinja file. For a .jinja
 * file the special tokens are taken from a tokenizer_config.json next to it when there is one.
 */
export function loadChatTemplate(path: string): ChatTemplate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read chat template ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (path.endsWith('.json')) {
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`${path} is not valid JSON`);
    }
    return createChatTemplate(pickTemplate(config, path), specialTokensOf(config), path);
  }
  const sibling = join(dirname(path), 'tokenizer_config.json');
  let tokens: Record<string, string> = {};
  if (basename(path) !== 'tokenizer_config.json') {
    try {
      tokens = specialTokensOf(JSON.parse(readFileSync(sibling, 'utf8')) as Record<string, unknown>);
    } catch {
      /* no sibling config: the template must not need special tokens */
    }
  }
  return createChatTemplate(text, tokens, path);
}

function pickTemplate(config: Record<string, unknown>, path: string): string {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as Array<{ name?: string; template?: string }>;
    const chosen = named.find((x) => x.name === 'default') ?? named[0];
    if (chosen && typeof chosen.template === 'string') return chosen.template;
  }
  throw new Error(`${path} has no chat_template (point --chat-template at the model's tokenizer_config.json or a .jinja file)`);
}

/** `bos_token` etc. are strings or AddedToken objects `{ content }` in tokenizer configs. */
function specialTokensOf(config: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    const v = config[key];
    if (typeof v === 'string') out[key] = v;
    else if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') out[key] = (v as { content: string }).content;
  }
  return out;
}

function render(t: ChatTemplate, messages: ChatMessage[], addGenerationPrompt: boolean): string {
  return t.compiled.render({
    ...t.specialTokens,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    add_generation_prompt: addGenerationPrompt,
  });
}

/** The prompt the model generates from: the conversation plus the assistant header (add_generation_prompt). */
export function renderPrompt(t: ChatTemplate, messages: ChatMessage[]): string {
  return render(t, messages, true);
}

/**
 * The raw prefix from which the model continues an assistant turn that already holds `partialAssistant`;
 * the result ends exactly with `partialAssistant`.
 *
 * It is the generation prompt followed by the partial text, i.e. the very string the model had in front
 * of it when it sampled that text itself. When the generation prompt already opens the reasoning (R1
 * distills' templates end with `<think>\n`), the overlap is not repeated: with G the generation prompt
 * and P the partial, the result is G + P[k:], where k is the longest overlap (at least `<think>`) between
 * the end of G and the start of P.
 *
 * Why not render the partial as a final assistant message and cut after it (what vLLM's
 * continue_final_message does): Qwen3's template turns an assistant message without `</think>` into
 * `<think>\n\n</think>\n\n` + content, an empty closed reasoning the model never produced, and Llama 3's
 * template trims the content, which drops the trailing whitespace the continuation must follow.
 */
export function renderContinuation(t: ChatTemplate, messages: ChatMessage[], partialAssistant: string): string {
  const prompt = renderPrompt(t, messages);
  return prompt + partialAssistant.slice(thinkOverlap(prompt, partialAssistant));
}

/** Longest k >= len('<think>') with P[:k] starting with `<think>` and G ending with P[:k]; 0 if none. */
export function thinkOverlap(generationPrompt: string, partial: string): number {
  if (!partial.startsWith(THINK_OPEN)) return 0;
  const max = Math.min(generationPrompt.length, partial.length);
  for (let k = max; k >= THINK_OPEN.length; k--) {
    if (generationPrompt.endsWith(partial.slice(0, k))) return k;
  }
  return 0;
}
