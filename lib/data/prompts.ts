/**
 * Prompt loaders for the shipped benchmark files and users' own, one shape out: PromptRow.
 *
 * Formats (by extension):
 *  - .jsonl: one object a line; .json: a list of objects (STAR-1's layout).
 *  - .csv: RFC 4180 (quoted fields, doubled quotes, newlines inside quotes); header names are
 *    matched case-insensitively.
 * Fields recognised, first match wins:
 *  - messages: `messages` (a list of {role, content}), else one user turn from the first of
 *    `prompt`, `question`, `forbidden_prompt`, `goal`, `behavior`, `instruction`, `input`.
 *    HarmBench contextual rows (`contextstring` non-empty) put the context first, as HarmBench does:
 *    context + "\n\n---\n\n" + behavior.
 *  - id: `id`, `behaviorid`, `index`; else the 1-based row number. Ids are strings and must be unique.
 *  - response: `response` (a trace with <think>...</think> that was already sampled; STAR-1 has one).
 *  - label: `label` (XSTest: safe / unsafe), for filtering.
 * JailbreakBench's `behavior` column is a short category name, not a prompt: `goal` wins over it.
 */
import type { ChatMessage } from '../model/types.js';
import { parseJsonlText } from '../run/jsonl.js';
import { readTextFile } from '../run/errors.js';

export interface PromptRow {
  id: string;
  messages: ChatMessage[];
  /** An already sampled assistant turn, when the input carries one. */
  response?: string;
  label?: string;
  /** 1-based position in the file (for messages). */
  row: number;
}

const PROMPT_FIELDS = ['prompt', 'question', 'forbidden_prompt', 'goal', 'behavior', 'instruction', 'input'];
const ID_FIELDS = ['id', 'behaviorid', 'index'];

export interface LoadPromptsOptions {
  /** Keep only rows whose `label` equals this (case-insensitive). */
  label?: string;
}

export function loadPrompts(path: string, options: LoadPromptsOptions = {}): PromptRow[] {
  const text = readTextFile(path, 'prompts');
  const lower = path.toLowerCase();
  let records: Array<Record<string, unknown>>;
  if (lower.endsWith('.csv')) records = csvRecords(text, path);
  else if (lower.endsWith('.json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Error(`${path} is not valid JSON`);
    }
    if (!Array.isArray(value)) throw new Error(`${path}: expected a JSON list of objects`);
    records = value as Array<Record<string, unknown>>;
  } else records = jsonlRecords(text, path);

  const rows: PromptRow[] = [];
  const seen = new Map<string, number>();
  records.forEach((record, i) => {
    const where = `${path}: row ${i + 1}`;
    if (!record || typeof record !== 'object' || Array.isArray(record)) throw new Error(`${where}: not an object`);
    const r = lowerKeys(record);
    const row = toRow(r, i + 1, where);
    if (options.label !== undefined && (row.label ?? '').toLowerCase() !== options.label.toLowerCase()) return;
    const previous = seen.get(row.id);
    if (previous !== undefined) throw new Error(`${where}: duplicate id '${row.id}' (also row ${previous})`);
    seen.set(row.id, row.row);
    rows.push(row);
  });
  return rows;
}

function toRow(r: Record<string, unknown>, rowNumber: number, where: string): PromptRow {
  let messages: ChatMessage[] | undefined;
  if (r.messages !== undefined) {
    if (!Array.isArray(r.messages) || !r.messages.length) throw new Error(`${where}: messages must be a non-empty list`);
    messages = r.messages.map((m: unknown, k: number) => {
      const mm = m as Record<string, unknown>;
      if (!mm || !['system', 'user', 'assistant'].includes(mm.role as string) || typeof mm.content !== 'string') {
        throw new Error(`${where}: messages[${k}] must be {role: system|user|assistant, content: string}`);
      }
      return { role: mm.role as ChatMessage['role'], content: mm.content };
    });
  } else {
    const field = PROMPT_FIELDS.find((f) => typeof r[f] === 'string' && (r[f] as string).trim() !== '');
    if (!field) throw new Error(`${where}: no prompt (expected one of messages, ${PROMPT_FIELDS.join(', ')})`);
    let content = r[field] as string;
    const context = r.contextstring;
    if (typeof context === 'string' && context.trim()) content = `${context}\n\n---\n\n${content}`;
    messages = [{ role: 'user', content }];
  }
  const idField = ID_FIELDS.find((f) => (typeof r[f] === 'string' && r[f] !== '') || typeof r[f] === 'number');
  const row: PromptRow = { id: idField ? String(r[idField]) : String(rowNumber), messages, row: rowNumber };
  if (typeof r.response === 'string' && r.response.trim()) row.response = r.response;
  if (typeof r.label === 'string') row.label = r.label;
  return row;
}

function lowerKeys(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!(k.toLowerCase() in out)) out[k.toLowerCase()] = v;
  return out;
}

function jsonlRecords(text: string, path: string): Array<Record<string, unknown>> {
  return parseJsonlText<Record<string, unknown>>(text, path, 'expected JSONL objects with id and prompt or messages').map((r) => r.value);
}

/** RFC 4180 CSV into objects keyed by the header row. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

function csvRecords(text: string, path: string): Array<Record<string, unknown>> {
  let table: string[][];
  try {
    table = parseCsv(text);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const [header, ...body] = table;
  if (!header) throw new Error(`${path} is empty`);
  return body.map((cells, i) => {
    if (cells.length !== header.length) throw new Error(`${path}: line ${i + 2} has ${cells.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((h, k) => [h.trim(), cells[k]]));
  });
}
