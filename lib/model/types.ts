/**
 * The small typed interfaces that lib/ modules talk through. A test swaps a real model server for a
 * local scripted one (test/support/scripted-server.ts) behind these, never a mock inside the code.
 *
 * Implementations: lib/model/client.ts (the openai SDK against any OpenAI-compatible server).
 */

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

export interface SamplingOptions {
  temperature?: number; // default 0.6 (the paper's setting)
  topP?: number; // default 0.95
  maxTokens?: number;
  seed?: number; // passed through where the server supports it
  stop?: string[];
}

/** One sampled assistant turn, reasoning and answer already separated. */
export interface Generation {
  /** Reasoning text (inside <think>...</think> or the server's reasoning_content), '' if none. */
  reasoning: string;
  /** The answer after the reasoning. */
  answer: string;
  /** The raw text as the server returned it (content, with reasoning re-wrapped in <think> if it came separately). */
  raw: string;
  finishReason?: string;
}

/** A policy or judge endpoint (possibly several replicas behind one role). */
export interface ModelClient {
  readonly model: string;
  /** A chat turn. `jsonSchema`, when given, is requested as structured output where the server supports it. */
  chat(messages: ChatMessage[], options?: SamplingOptions & { jsonSchema?: Record<string, unknown> }): Promise<Generation>;
  /**
   * Continue an assistant turn that already starts with `assistantPrefix` (e.g. '<think>\n' + the
   * reasoning so far + a trigger). The returned Generation covers the whole turn: prefix + continuation,
   * split into reasoning and answer.
   */
  continueAssistant(messages: ChatMessage[], assistantPrefix: string, options?: SamplingOptions): Promise<Generation>;
}

/** Where one role's servers are. Several base URLs spread load across replicas. */
export interface EndpointConfig {
  baseUrls: string[];
  model: string;
  apiKey?: string; // never logged, never written to outputs
  timeoutMs?: number;
  maxRetries?: number;
}
