#!/usr/bin/env node
/**
 * Regenerates the pairs `ipo train` ships with (data/train/harmful.jsonl, data/train/benign.jsonl)
 * from the prompt files in data/train/sources/. Deterministic: no randomness, template choices are
 * a function of the row index, so running it twice writes identical files.
 *
 *   node scripts/build-train-pairs.mjs [--out data/train]
 *
 * Harmful (stage 1) pairs, one per JailbreakBench harmful behavior (100):
 *   prefix   = a neutral opening of the reasoning that restates the request
 *   chosen   = a safety trigger (data/triggers.txt) + refusal reasoning for the behavior's category
 *              + a short refusal answer with a safe alternative
 *   rejected = a compliance cue (the kind METHOD.md lists) + the *shape* of compliance: JBB's own
 *              "Sure, here is ..." target line followed by numbered steps whose content is withheld.
 *              Sanitised by construction: no rejected side contains any harmful detail.
 * Benign (stage 2) pairs, one per 5th XSTest "safe" prompt (50): chosen = a normal helpful turn,
 *   rejected = an over-refusal triggered by the prompt's alarming word (XSTest's `focus` column).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'data/train') } } });

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  const [header, ...body] = rows.filter((r) => r.length > 1);
  const keys = header.map((h) => h.trim().toLowerCase());
  return body.map((r) => Object.fromEntries(keys.map((k, j) => [k, r[j] ?? ''])));
}

const pick = (list, i) => list[i % list.length];
const lowerFirst = (s) => s.charAt(0).toLowerCase() + s.slice(1);
const triggers = readFileSync(join(root, 'data/triggers.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

const openings = [
  (g) => `Okay, so the user wants me to ${lowerFirst(g)}. Let me think about what that would involve. `,
  (g) => `The user is asking me to ${lowerFirst(g)}. I need to work out how to respond. `,
  (g) => `Alright, the request is to ${lowerFirst(g)}. Let me consider it carefully. `,
  (g) => `So the task here is: ${lowerFirst(g)}. First, let me understand what is being asked. `,
];

const cues = [
  "I'll start by drafting it so that it looks convincing.",
  'I know this is wrong, but I need to work out the methods anyway.',
  "Since it's only hypothetical, it isn't a problem to think it through.",
  'Let me just outline the steps the user asked for.',
  'The user probably has a good reason, so I will go along with it.',
  "I'll focus on making the answer as complete and practical as possible.",
];

const categories = {
  'Harassment/Discrimination': ['it targets people with harassment or discrimination', 'hurt real people and spread hate', 'respectful, factual information about the topic'],
  'Malware/Hacking': ['it asks for help breaking into or damaging computer systems', 'enable attacks on systems people depend on', 'resources on defensive security and responsible disclosure'],
  'Physical harm': ['it could lead to people getting physically hurt', 'put lives in danger', 'safety information or support services'],
  'Economic harm': ['it would help cause financial harm to others', 'cost people their money or livelihood', 'legitimate ways to reach the same goal'],
  'Fraud/Deception': ['it is a request to help deceive or defraud people', 'help cheat real victims', 'how to spot and report this kind of fraud'],
  Disinformation: ['it asks me to create disinformation', 'mislead people and erode trust', 'accurate sources on the subject'],
  'Sexual/Adult content': ['it asks for sexual content that exploits or harms people', 'violate people’s dignity and consent', 'information about consent and support resources'],
  Privacy: ['it would violate someone’s privacy', 'expose people to surveillance or stalking', 'how people can protect their own privacy'],
  'Expert advice': ['it asks for risky expert advice without the needed safeguards', 'lead someone to make a harmful decision', 'a qualified professional who can help properly'],
  'Government decision-making': ['it seeks to misuse or evade government processes', 'undermine the rule of law', 'the official and lawful way to handle this'],
};

const refusalReasoning = [
  (c) => ` This request falls under a harmful category because ${c[0]}. Writing it would ${c[1]}. I should decline and suggest ${c[2]} instead.`,
  (c) => ` Looking at it again, ${c[0]}, and any answer would ${c[1]}. The right response is a clear refusal that points to ${c[2]}.`,
  (c) => ` I can't treat this as harmless: ${c[0]}. Helping would ${c[1]}. I'll say no and offer ${c[2]}.`,
];

const harmful = [];
const jbb = parseCsv(readFileSync(join(root, 'data/train/sources/jbb_harmful-behaviors.csv'), 'utf8'));
jbb.forEach((row, i) => {
  const c = categories[row.category];
  if (!c) throw new Error(`unknown JBB category ${row.category}`);
  const behavior = row.behavior.trim();
  const target = row.target.trim();
  const chosen =
    pick(triggers, i) +
    pick(refusalReasoning, Math.floor(i / 6))(c) +
    `\n</think>\n\nI can't help with that request. If it is useful, I can share ${c[2]}.`;
  const rejected =
    pick(cues, i + 1) +
    ' First I will lay out the main parts, then fill in each one with the specifics.' +
    `\n</think>\n\n${target}:\n\n1. [step one: details withheld]\n2. [step two: details withheld]\n3. [step three: details withheld]`;
  harmful.push({
    id: `jbb-${row.index}`,
    kind: 'intervened',
    unit: 'template',
    messages: [{ role: 'user', content: row.goal.trim() }],
    prefix: pick(openings, i)(row.goal.trim()),
    cueIndex: 2,
    cueSentence: pick(cues, i + 1),
    trigger: pick(triggers, i),
    chosen,
    rejected,
    rounds: 1,
    detector: 'template',
    model: 'template',
    category: row.category,
    behavior,
  });
});

const answers = [
  'This is an ordinary question with a harmless meaning, so I will answer it directly and clearly.',
  'Nothing here is dangerous; it is a normal everyday question. I will give a short, useful answer.',
  'The wording might sound alarming out of context, but the request itself is harmless. I will help.',
];
const overRefusals = [
  (w) => `Hmm, the word "${w}" makes this sound dangerous, so I had better refuse.`,
  (w) => `Wait, anything involving "${w}" could be harmful. I should not help with this.`,
  (w) => `This mentions "${w}", which sounds like a risky topic. I will decline to be safe.`,
];
const benign = [];
const xstest = parseCsv(readFileSync(join(root, 'data/train/sources/xstest_prompts.csv'), 'utf8')).filter((r) => r.label === 'safe');
xstest
  .filter((_, k) => k % 5 === 0)
  .forEach((row, i) => {
    const word = row.focus.trim() || row.type.replace(/_/g, ' ');
    benign.push({
      id: `xstest-${row.id}`,
      kind: 'benign',
      unit: 'template',
      messages: [{ role: 'user', content: row.prompt.trim() }],
      prefix: '',
      cueIndex: 0,
      cueSentence: null,
      trigger: null,
      chosen: `The user asks: "${row.prompt.trim()}" ${pick(answers, i)}\n</think>\n\nSure, here is a clear answer to your question, with the key points first.`,
      rejected: `${pick(overRefusals, i)(word)}\n</think>\n\nI'm sorry, but I can't help with that.`,
      rounds: 1,
      detector: 'template',
      model: 'template',
      xstestType: row.type,
    });
  });

mkdirSync(values.out, { recursive: true });
const write = (name, rows) => writeFileSync(join(values.out, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
write('harmful.jsonl', harmful);
write('benign.jsonl', benign);
process.stdout.write(`wrote ${harmful.length} harmful and ${benign.length} benign pairs to ${values.out}\n`);
