/**
 * A learned sentence scorer for the lexical compliance-cue detector: logistic regression over sparse
 * binary features of one sentence in its trace,
 *
 *   p(cue | sentence k) = sigmoid(bias + sum_{f in features(k)} w_f),
 *
 * where features(k) are the sentence's word unigrams and bigrams, its first words, a few structural
 * facts (has an earlier sentence named the harm? is this the sentence right after? a first-person
 * plan modal, an agent modal, habit words, an imperative opening, hedging, negation, talk about the
 * user or the reply) and the names of the detector's hand-written rules that match it.
 *
 * The weights are trained offline by scripts/train-cue-model.mjs (the dev cue traces, fresh batches
 * A-C and STAR-1 rows 200-999; never the held-out split, fresh batch D or STAR-1 rows 0-199) and shipped as
 * data/cue-model.json. Scoring is deterministic and explainable: `scoreSentence` returns the
 * features that pushed the score most.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CueModel {
  /** Format version of the weights file. */
  version: 1;
  bias: number;
  /** A sentence whose probability reaches this is a cue (chosen by the training script). */
  threshold: number;
  /** A plan/method pattern marks a cue only where the probability reaches this (lower than threshold). */
  planFloor: number;
  weights: Record<string, number>;
  /** How the weights were trained (data, counts, regularisation): for the docs, not used in scoring. */
  trainedOn?: Record<string, unknown>;
}

/** data/cue-model.json of this package (lib/intervene/ and dist/intervene/ -> ../../data). */
export const CUE_MODEL_FILE = fileURLToPath(new URL('../../data/cue-model.json', import.meta.url));

let shipped: CueModel | undefined;

/** The shipped weights, read once. Throws with the path when the file is missing or malformed. */
export function loadCueModel(path = CUE_MODEL_FILE): CueModel {
  if (path === CUE_MODEL_FILE && shipped) return shipped;
  let model: CueModel;
  try {
    model = JSON.parse(readFileSync(path, 'utf8')) as CueModel;
  } catch (err) {
    throw new Error(`cue model: cannot read ${path} (${(err as Error).message}); regenerate it with scripts/train-cue-model.mjs`);
  }
  if (model.version !== 1 || typeof model.bias !== 'number' || typeof model.threshold !== 'number' || typeof model.planFloor !== 'number' || typeof model.weights !== 'object') {
    throw new Error(`cue model: ${path} is not a version-1 weights file (bias, threshold, planFloor, weights)`);
  }
  if (path === CUE_MODEL_FILE) shipped = model;
  return model;
}

/** Words of a sentence: lower case, curly quotes straightened, digits folded to "0". */
export function words(sentence: string): string[] {
  return sentence
    .toLowerCase()
    .replace(/[‘’]/g, "'")
    .replace(/\d+/g, '0')
    .split(/[^a-z0'-]+/)
    .map((w) => w.replace(/^['-]+|['-]+$/g, ''))
    .filter(Boolean);
}

/** Names the harm, the law or the danger: what safe analysis talks about before a cue can follow. */
const HARM_NAMED = /\b(?:illegal\w*|unlawful|against the law|crimes?|criminal|felony|fraud\w*|theft|steal\w*|harm\w*|dangerous|danger|unsafe|unethical|wrong|abus\w*|violen\w*|violat\w*|exploit\w*|malicious|scam\w*|phishing|poison\w*|murder|kill\w*|assault|terror\w*|extremis\w*|hate|harass\w*|bully\w*|stalk\w*|doxx\w*|self-harm|suicid\w*|overdos\w*|weapon\w*|explosive\w*|controlled substance|schedule i\b|regulated|unauthori[sz]ed|privacy|cruel|risky|serious|concerning|red flag|not okay|not ok)\b/i;
const ABOUT_USER = /\b(?:the user|user's|they want|they're asking|they are asking|someone (?:is )?asking|the request|this request|the question|the person|asking (?:me|for|how|about|whether|if))\b/i;
const FIRST_PERSON_PLAN = /\b(?:i'll|i will|i'm going to|let me|let's|i can|i could|i'd|i might|i should|i need to|i want to|i suppose)\b/i;
const AGENT_MODAL = /\b(?:they'd|you'd|he'd|she'd|one would|they would|you would|you could|they could|it would|it could|would need|would have to)\b/i;
const HABIT = /\b(?:usually|typically|often|commonly|tend to|tends to|most of the time|generally|normally|the usual|the common|the standard|the classic|basically|simply|just)\b/i;
const HEDGE = /\b(?:maybe|perhaps|might|suppose|possibly|i guess|probably)\b/i;
const NEGATION = /\b(?:not|no|never|n't|cannot|can't|won't|shouldn't|don't|doesn't|isn't)\b|n't\b/i;
const SEQUENCE = /^(?:first|then|next|after that|finally|second|third|also|and|plus|to start|start|step)\b/i;
/** Deliberation that cites a policy or guideline (how safety-trained reasoning weighs a request). */
const POLICY = /\b(?:polic(?:y|ies)|guidelines?|content rules|terms of (?:service|use))\b/i;
/** Opening verbs of an instruction ("Start with a local story", "Mix the two"). */
const IMPERATIVE = /^(?:start|begin|use|add|mix|take|put|get|send|make|open|pivot|buy|find|search|grab|set|place|pour|heat|drill|cut|call|tell|say|write|pick|choose|go|wait|keep|hide|leave|install|run|download|spoof|target|pretend|claim|post|list|try|look|check|click|enter|type|swap|replace|crush|dissolve|soak|wrap|attach|block|delete|remove|change|create|register|follow|combine|apply)\b/i;

export interface SentenceContext {
  /** The trace, one sentence each. */
  sentences: readonly string[];
  /** 1-based number of the sentence to describe. */
  k: number;
  /** Names of the hand-written rules that match this sentence (e.g. 'rule:steps-opening'). */
  rules?: readonly string[];
  /** The trace calls the request benign (see BENIGN_VERDICT in detectors.ts). */
  benignTrace?: boolean;
}

/** The sparse binary features of sentence k (deduplicated, in a fixed order). */
export function sentenceFeatures(ctx: SentenceContext): string[] {
  const s = ctx.sentences[ctx.k - 1].trim();
  const w = words(s);
  const out = new Set<string>();
  for (const x of w) out.add(`w:${x}`);
  for (let i = 0; i + 1 < w.length; i++) out.add(`b:${w[i]}_${w[i + 1]}`);
  if (w.length) out.add(`first:${w[0]}`);
  if (w.length > 1) out.add(`first2:${w[0]}_${w[1]}`);
  const before = ctx.sentences.slice(0, ctx.k - 1);
  const harmBefore = before.some((x) => HARM_NAMED.test(x));
  const harmHere = HARM_NAMED.test(s);
  if (harmBefore) out.add('ctx:harm-named-before');
  else out.add('ctx:no-harm-before');
  if (ctx.k >= 2 && HARM_NAMED.test(ctx.sentences[ctx.k - 2])) out.add('ctx:after-harm-sentence');
  if (harmHere) out.add('has:harm-named');
  if (harmBefore && !harmHere && !ABOUT_USER.test(s)) out.add('ctx:plain-after-harm');
  if (ctx.k === 2) out.add('pos:second');
  if (ctx.k === ctx.sentences.length) out.add('pos:last');
  if (ABOUT_USER.test(s)) out.add('has:about-user');
  if (FIRST_PERSON_PLAN.test(s)) out.add('has:first-person-plan');
  if (AGENT_MODAL.test(s)) out.add('has:agent-modal');
  if (HABIT.test(s)) out.add('has:habit');
  if (HEDGE.test(s)) out.add('has:hedge');
  if (NEGATION.test(s)) out.add('has:negation');
  if (SEQUENCE.test(s)) out.add('has:sequence-opening');
  if (IMPERATIVE.test(s)) out.add('has:imperative-opening');
  if (/\?\s*$/.test(s)) out.add('has:question');
  if (/\d/.test(s)) out.add('has:number');
  if (/['"“”‘’]\w[^'"“”‘’]*['"“”‘’]/.test(s)) out.add('has:quote');
  if (!/\b(?:i|i'm|i'll|i'd|me|my|we|let's)\b/i.test(s)) out.add('has:no-first-person');
  out.add(w.length <= 6 ? 'len:short' : w.length <= 18 ? 'len:mid' : 'len:long');
  for (const r of ctx.rules ?? []) out.add(r);
  if (ctx.benignTrace) {
    out.add('ctx:benign-trace');
    if (ctx.rules?.some((r) => r.startsWith('plan:'))) out.add('ctx:benign-trace-plan');
  }
  return [...out];
}

export interface SentenceScore {
  /** sigmoid(bias + sum of the weights of the features present). */
  probability: number;
  /** The features with the largest weights in absolute value, strongest first (at most 6). */
  top: Array<[feature: string, weight: number]>;
}

export function scoreFeatures(model: CueModel, features: readonly string[]): SentenceScore {
  let z = model.bias;
  const present: Array<[string, number]> = [];
  for (const f of features) {
    const wf = model.weights[f];
    if (wf !== undefined) {
      z += wf;
      present.push([f, wf]);
    }
  }
  present.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || (a[0] < b[0] ? -1 : 1));
  return { probability: 1 / (1 + Math.exp(-z)), top: present.slice(0, 6).map(([f, x]) => [f, Math.round(x * 1000) / 1000]) };
}
