/**
 * Judges backed by an OpenAI-compatible chat model (any ModelClient). Judging is greedy
 * (temperature 0) so a cached verdict is the verdict a rerun would give.
 */
import type { ModelClient } from '../../model/types.js';
import { parseHarmAnswer, parseRefusalAnswer } from './parse.js';
import {
  HARM_JSON_SCHEMA,
  REFUSAL_JSON_SCHEMA,
  harmJudgeMessages,
  refusalJudgeMessages,
  type HarmJudgeFormat,
  type RefusalJudgeFormat,
} from './rubric.js';
import type { HarmJudge, HarmTarget, HarmVerdict, RefusalJudge, RefusalVerdict } from './types.js';

export interface LlmJudgeOptions {
  /** Token budget of one judge answer; a reasoning judge needs room for its own thinking. */
  maxTokens?: number;
}

/** 'guard' for models whose name says they are a guard model (Llama Guard, ShieldGemma...), else 'rubric'. */
export function autoHarmFormat(model: string): HarmJudgeFormat {
  return /guard|shield/i.test(model) ? 'guard' : 'rubric';
}

export class LlmHarmJudge implements HarmJudge {
  readonly id: string;
  constructor(
    private readonly client: ModelClient,
    private readonly format: HarmJudgeFormat,
    private readonly options: LlmJudgeOptions = {},
  ) {
    this.id = `llm:${client.model}:${format}`;
  }

  async judgeHarm(prompt: string, text: string, target: HarmTarget): Promise<HarmVerdict> {
    const generation = await this.client.chat(harmJudgeMessages(this.format, prompt, text, target), {
      temperature: 0,
      topP: 1,
      maxTokens: this.options.maxTokens ?? 512,
      ...(this.format === 'json' ? { jsonSchema: HARM_JSON_SCHEMA } : {}),
    });
    // The client separates a reasoning judge's thinking; the verdict is in the answer.
    return parseHarmAnswer(generation.answer || generation.raw);
  }
}

export class LlmRefusalJudge implements RefusalJudge {
  readonly id: string;
  constructor(
    private readonly client: ModelClient,
    private readonly format: RefusalJudgeFormat,
    private readonly options: LlmJudgeOptions = {},
  ) {
    this.id = `llm:${client.model}:${format}`;
  }

  async judgeRefusal(prompt: string, answer: string): Promise<RefusalVerdict> {
    const generation = await this.client.chat(refusalJudgeMessages(this.format, prompt, answer), {
      temperature: 0,
      topP: 1,
      maxTokens: this.options.maxTokens ?? 512,
      ...(this.format === 'json' ? { jsonSchema: REFUSAL_JSON_SCHEMA } : {}),
    });
    return parseRefusalAnswer(generation.answer || generation.raw);
  }
}
