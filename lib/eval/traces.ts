/**
 * Reading the traces `ipo csr` measures. A JSONL file (one object a line) or a JSON array; each
 * record needs a prompt and a reasoning:
 *   prompt:    "prompt" | "question" | "goal" | "forbidden_prompt" | the last user turn of "messages"
 *   reasoning: "reasoning", else the <think> part of "response" | "output" | "completion" | "raw" | "text"
 *   id:        "id" (string or number), else the 1-based record number
 * Records without reasoning are reported as errors naming the record, not skipped silently.
 */
import { parseTrace } from '../model/reasoning.js';
import { parseJsonlText } from '../run/jsonl.js';
import { readTextFile } from '../run/errors.js';

export interface CsrTrace {
  id: string;
  prompt: string;
  reasoning: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function traceFromRecord(row: Record<string, unknown>, where: string, ordinal: number): CsrTrace {
  let prompt = str(row.prompt) ?? str(row.question) ?? str(row.goal) ?? str(row.forbidden_prompt);
  if (prompt === undefined && Array.isArray(row.messages)) {
    const users = (row.messages as Array<{ role?: unknown; content?: unknown }>).filter((m) => m?.role === 'user' && typeof m.content === 'string');
    prompt = users.length ? (users[users.length - 1]!.content as string) : undefined;
  }
  if (prompt === undefined) throw new Error(`${where}: no prompt (expected "prompt", "question", "goal" or "messages")`);
  let reasoning = str(row.reasoning);
  if (reasoning === undefined) {
    const full = str(row.response) ?? str(row.output) ?? str(row.completion) ?? str(row.raw) ?? str(row.text);
    if (full !== undefined) reasoning = parseTrace(full).reasoning;
  }
  if (!reasoning || reasoning.trim() === '') throw new Error(`${where}: no reasoning (expected "reasoning", or a "response" holding <think>...</think>)`);
  const id = typeof row.id === 'string' || typeof row.id === 'number' ? String(row.id) : String(ordinal);
  return { id, prompt, reasoning };
}

export function loadTraces(path: string): CsrTrace[] {
  const text = readTextFile(path, 'traces');
  let rows: Array<{ row: unknown; where: string }>;
  if (text.trimStart().startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array or JSONL`);
    rows = parsed.map((row, i) => ({ row, where: `${path}[${i}]` }));
  } else {
    rows = parseJsonlText(text, path).map(({ line, value }) => ({ row: value, where: `${path}:${line}` }));
  }
  const traces = rows.map(({ row, where }, i) => {
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new Error(`${where}: not an object`);
    return traceFromRecord(row as Record<string, unknown>, where, i + 1);
  });
  const ids = new Set<string>();
  for (const t of traces) {
    if (ids.has(t.id)) throw new Error(`${path}: trace id '${t.id}' appears twice`);
    ids.add(t.id);
  }
  return traces;
}
