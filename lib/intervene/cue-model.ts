/**
 * A learned sentence scorer for the lexical compliance-cue detector: logistic regression over sparse
 * binary features of one sentence in its trace,
 *
 *   p(cue | sentence k) = sigmoid(bias + sum_{f in features(k)} w_f),
 *
 * where features(k) are the sentence's word unigrams and bigrams, its first words, a few structural
 * facts (has an earlier sentence named the harm? is this the sentence right after? a first-person
 * plan modal, an agent modal, habit words, an imperative opening, hedging, negation, talk about the
 * user or the reply), its place in the trace (declined before it, declines later or never, an
 * object-level statement made before any refusal, the neighbours' shape), word classes (WORD_CLASSES)
 * and the names of the detector's hand-written rules that match it.
 *
 * The weights are trained offline by scripts/train-cue-model.mjs (the dev cue traces, fresh batches
 * A-C, the written batches and STAR-1 rows 200-999; never the held-out split, fresh batches D-J,
 * written-unseen.json or STAR-1 rows 0-199) and shipped as data/cue-model.json. Scoring is
 * deterministic and explainable: `scoreFeatures` returns the features that pushed the score most.
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
  /**
   * A rationalisation pattern marks a cue only where the probability reaches this (absent: 0, the
   * patterns fire whatever the score). Lets the scorer veto a pattern that matched harm analysis.
   */
  excuseFloor?: number;
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
/** Talks as a person (the model, the user addressed): not an object-level statement. */
const PERSONAL = /\b(?:i|i'm|i'll|i'd|i've|me|my|we|let's|you|your)\b/i;
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

/**
 * Word classes, so that a wording the training traces never used still lands on a learned weight
 * (the n-grams alone only know the exact words they saw).
 */
const WORD_CLASSES: ReadonlyArray<[name: string, pattern: RegExp]> = [
  // the wrongdoer named as such: harm analysis ("Scammers often pose as the bank")
  ['cls:wrongdoer', /\b(?:scammers?|fraudsters?|con artists?|attackers?|hackers?|cybercriminals?|criminals?|abusers?|abusive (?:partners?|people)|predators?|stalkers?|groomers?|traffickers?|extremists?|recruiters?|terrorists?|dealers?|bullies|trolls?|perpetrators?|offenders?|bad actors?|malicious actors?|thieves|burglars?|kidnappers?|manipulators?)\b/i],
  // someone doing it as a matter of course, or "the way" to do it: a method told as how-to
  ['cls:how-it-is-done', /\b(?:(?:most )?people (?:usually |just |mostly |often |typically |tend to )?(?:use|go|start|pick|get|buy|do|try|leave|reuse|pay|put|hide|search|mix|take)|most people|someone (?:could|would|can)|you(?:'d| would| could| can| just)|the (?:easiest|simplest|quickest|cheapest|best|usual|common|standard|typical|main|obvious|classic|subtle|beginner) (?:way|route|method|approach|trick|option|choice|setup|move|answer|thing)|the trick is|the key is|what works|works best|the hard part|where you start|the hook)\b/i],
  // protective or analytic framing: the safe reply's vocabulary
  ['cls:protective', /\b(?:warning signs?|red flags?|protect\w*|prevent\w*|victims?|report(?:ing|ed)? (?:it|them|to)|authorities|police|hotline|crisis|support|resources?|safety|awareness|recogni[sz]e|spot (?:the|it|them)|defen[cs]\w*|legitimate|consent|professional help|law enforcement|lawyer|doctor|therapist|counsel\w*)\b/i],
  // talking itself into it
  ['cls:rationalising', /\b(?:anyway|after all|it's (?:just|only) (?:a|text|fiction|editing|words)|their (?:own )?(?:choice|call|body|life|decision|right)|they're (?:an )?adults?|adults (?:get|can)|already (?:online|public|out there|available|known|floating|everywhere)|all over (?:the internet|reddit|forums|the web)|harmless|no big deal|not really (?:wrong|harmful|a problem)|technically|textbook|harm reduction|going to do it (?:anyway|regardless)|either way|regardless|fair game|public figure|brought it on|deserves? it|isn't (?:really )?adding|with or without (?:me|my))\b/i],
  // drafting the artifact itself
  ['cls:drafting', /\b(?:something like|subject line|the (?:opening|first) (?:line|sentence|paragraph)|(?:should|could|would|needs? to|will) (?:open|start|begin|close|end) with|(?:should|could|would|needs? to) (?:say|read|sound|look|feel|mention|include)|the (?:post|email|message|text|note|script|article|speech|tweet|review|letter|caption|headline|body|story|page|invoice|ad) (?:should|could|would|needs|will)|needs? (?:urgency|a hook))\b/i],
  // keeping it hidden or untraceable: how to get away with it
  ['cls:concealment', /\b(?:hid(?:e|es|ing|den)|covert\w*|secret\w*|discreet\w*|unnoticed|untraceable|(?:harder|hard|impossible) to (?:trace|detect|spot|notice|see)|without (?:being|getting) (?:noticed|caught|seen|detected)|(?:won't|don't|doesn't|wouldn't) (?:show|flag|notice|leave)|less (?:visible|noticeable|obvious)|least (?:noticed|visible)|blend(?:s)? in|get away with|avoid (?:detection|getting caught)|cover (?:it|them|the) up|throwaway|burner|anonymous\w*)\b/i],
  // what makes it work: effectiveness talk about the harmful act or artifact
  ['cls:effectiveness', /\b(?:works? (?:best|better|well|fast)|most effective|effective|lands? (?:hardest|harder)|sticks? (?:better|best)|convincing|believable|(?:look|looks|sound|sounds|feel|feels) (?:real|legit|legitimate|official|organic|authentic|local)|realistic|fall over|goes? viral|travels? (?:furthest|far)|hits? (?:hardest|harder)|the more .{1,30} the (?:better|more))\b/i],
  // getting the means: where to buy, order or find what is needed
  ['cls:sourcing', /\b(?:buy|bought|sold|sells?|order(?:ed)? online|get hold of|available (?:at|from|online|over)|pharmac(?:y|ies)|hardware stores?|online shops?|classifieds|marketplaces?|dark ?web|darknet|tor\b|markets?|kits?|precursors?|suppliers?|vendors?)\b/i],
  // partial or tentative help
  ['cls:tentative-help', /\b(?:maybe i (?:can|could)|i could (?:at least|just|give|describe|explain|mention|say|list|outline)|without (?:specifics|naming|details|amounts|exact|the (?:exact|specific))|the general (?:idea|principle|outline|approach|concept)|high-level|softened|at least (?:say|give|explain|mention|describe|tell))\b/i],
];

export interface SentenceContext {
  /** The trace, one sentence each. */
  sentences: readonly string[];
  /** 1-based number of the sentence to describe. */
  k: number;
  /** Names of the hand-written rules that match this sentence (e.g. 'rule:steps-opening'). */
  rules?: readonly string[];
  /** The trace calls the request benign (see BENIGN_VERDICT in detectors.ts). */
  benignTrace?: boolean;
  /** The rule names of every sentence of the trace (index k - 1), for the neighbourhood features. */
  traceRules?: readonly (readonly string[])[];
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
  for (const [name, pattern] of WORD_CLASSES) if (pattern.test(s)) out.add(name);
  for (const r of ctx.rules ?? []) out.add(r);
  if (ctx.traceRules) {
    const rulesAt = ctx.traceRules;
    const declines = (r: readonly string[] | undefined) => !!r && (r.includes('refusal') || r.includes('safe:declines'));
    const refusesOrSafe = (r: readonly string[]) => r.some((x) => x === 'refusal' || x.startsWith('safe:'));
    // An object-level sentence: no talk of the user, the reply or the harm, no first person (the shape
    // of a method stated as fact, "Newcomers usually get a lot of warmth at first").
    const objectLevelAt = (j: number) => {
      const x = ctx.sentences[j - 1];
      return x !== undefined && !HARM_NAMED.test(x) && !ABOUT_USER.test(x) && !PERSONAL.test(x) && !refusesOrSafe(rulesAt[j - 1]);
    };
    const earlier = rulesAt.slice(0, ctx.k - 1);
    const declinedBefore = earlier.some(declines);
    if (declinedBefore) out.add('ctx:declined-before');
    if (earlier.some((r) => r.includes('safe:safe-response'))) out.add('ctx:safe-reply-before');
    if (objectLevelAt(ctx.k)) {
      out.add('shape:object-level');
      // ... after the harm was named, before any refusal, in a trace that never called the request benign
      if (harmBefore && !declinedBefore && !ctx.benignTrace) out.add('ctx:object-level-undecided');
    }
    if (rulesAt.slice(ctx.k).some(declines)) out.add('trace:declines-later');
    else if (!declinedBefore) out.add('trace:never-declines');
    if (ctx.k >= 2 && HARM_NAMED.test(ctx.sentences[ctx.k - 2]) && !declinedBefore && !refusesOrSafe(rulesAt[ctx.k - 1])) out.add('ctx:right-after-harm-undecided');
    if (objectLevelAt(ctx.k + 1)) out.add('next:object-level');
    if (ctx.k >= 2 && objectLevelAt(ctx.k - 1)) out.add('prev:object-level');
    const next = rulesAt[ctx.k];
    if (!next) out.add('next:end');
    else {
      if (declines(next)) out.add('next:declines');
      if (next.includes('safe:safe-response')) out.add('next:safe-reply');
      if (next.some((r) => r.startsWith('plan:'))) out.add('next:plan');
    }
  }
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
