/**
 * Which tokenizer folder both sides use: `--tokenizer DIR`, else the model folder's own, else (a hub
 * id) the tokenizer transformers downloads, saved into OUT/trl/tokenizer. transformers 5 saves the
 * chat template as chat_template.jinja rather than inside tokenizer_config.json; ipo-node's loader
 * reads tokenizer_config.json, so such a folder is copied to OUT/trl/tokenizer with the template put
 * back into the config. The files are otherwise untouched: the token ids are the model's.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function isLocalFolder(model: string): boolean {
  return existsSync(join(model, 'config.json'));
}

/** A folder with tokenizer.json and a tokenizer_config.json that holds the chat template. */
export function usableTokenizerDir(source: string, scratch: string): string {
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!existsSync(join(source, f))) throw new Error(`${source} has no ${f}: pass --tokenizer DIR (a folder holding tokenizer.json and tokenizer_config.json)`);
  }
  const config = JSON.parse(readFileSync(join(source, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  if (config.chat_template !== undefined) return source;
  const jinja = join(source, 'chat_template.jinja');
  if (!existsSync(jinja)) throw new Error(`${source} has no chat template (neither in tokenizer_config.json nor chat_template.jinja): the context cannot be rendered`);
  mkdirSync(scratch, { recursive: true });
  for (const f of ['tokenizer.json', 'special_tokens_map.json', 'chat_template.jinja']) {
    if (existsSync(join(source, f))) copyFileSync(join(source, f), join(scratch, f));
  }
  writeFileSync(join(scratch, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: readFileSync(jinja, 'utf8') }, null, 2));
  return scratch;
}
