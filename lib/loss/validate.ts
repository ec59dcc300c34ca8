/**
 * Argument checks for the TypeScript backend: the same checks, in the same order, with the same
 * error types and argument names as the native core (native/core/validate.cc + native/node/binding.cc),
 * so a caller sees one behaviour whichever backend loaded.
 */
import { IGNORE_INDEX, type DpoInput, type DpoOptions, type LogitsDtype, type LogitsInput } from './types.js';

export class IpoArgumentError {
  static type(argument: string, message: string): TypeError {
    return Object.assign(new TypeError(message), { code: 'IPO_ERR_TYPE', argument });
  }
  static range(argument: string, message: string, at?: { sequence: number; position?: number }): RangeError {
    const err = Object.assign(new RangeError(message), { code: 'IPO_ERR_RANGE', argument });
    if (at) {
      Object.assign(err, { sequence: at.sequence });
      if (at.position !== undefined && at.position >= 0) Object.assign(err, { position: at.position });
    }
    return err;
  }
}

export interface CheckedInput {
  logits: Float32Array | Uint16Array;
  dtype: LogitsDtype;
  seqLen: number;
  vocab: number;
  labels: Int32Array;
  sequences: number;
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number') throw IpoArgumentError.type(name, `${name} must be a number`);
  if (!(value >= 1) || !Number.isInteger(value) || value > Number.MAX_SAFE_INTEGER)
    throw IpoArgumentError.range(name, `${name} must be a positive integer (got ${value})`);
  return value;
}

export function checkInput(input: LogitsInput): CheckedInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw IpoArgumentError.type('input', 'input must be an object { logits, dtype?, seqLen, vocab, labels }');
  const { logits, labels } = input;
  if (!(logits instanceof Float32Array) && !(logits instanceof Uint16Array))
    throw IpoArgumentError.type('logits', 'logits must be a Float32Array or a Uint16Array');
  const isU16 = logits instanceof Uint16Array;
  let dtype: LogitsDtype = 'float32';
  if (input.dtype !== undefined) {
    if (typeof input.dtype !== 'string') throw IpoArgumentError.type('dtype', "dtype must be 'float32', 'bfloat16' or 'float16'");
    if (input.dtype !== 'float32' && input.dtype !== 'bfloat16' && input.dtype !== 'float16')
      throw IpoArgumentError.type('dtype', `dtype must be 'float32', 'bfloat16' or 'float16' (got '${input.dtype}')`);
    dtype = input.dtype;
  } else if (isU16) {
    throw IpoArgumentError.type('dtype', "dtype is required for a Uint16Array of logits: 'bfloat16' or 'float16'");
  }
  if (isU16 !== (dtype !== 'float32'))
    throw IpoArgumentError.type(
      'logits',
      isU16
        ? "logits is a Uint16Array but dtype is 'float32': use a Float32Array, or dtype 'bfloat16'/'float16'"
        : `logits is a Float32Array but dtype is '${dtype}': 16-bit logits go in a Uint16Array`,
    );
  const seqLen = positiveInteger(input.seqLen, 'seqLen');
  const vocab = positiveInteger(input.vocab, 'vocab');
  if (!(labels instanceof Int32Array)) throw IpoArgumentError.type('labels', 'labels must be an Int32Array');
  if (labels.length === 0 || labels.length % seqLen !== 0)
    throw IpoArgumentError.range('labels', `labels.length (${labels.length}) must be a positive multiple of seqLen (${seqLen})`);
  const sequences = labels.length / seqLen;
  const expected = sequences * seqLen * vocab;
  if (!(expected < 2 ** 53)) throw IpoArgumentError.range('logits', 'sequences x seqLen x vocab overflows: the logits cannot have that many elements');
  if (logits.length !== expected)
    throw IpoArgumentError.range(
      'logits',
      `logits.length is ${logits.length} but sequences x seqLen x vocab = ${sequences} x ${seqLen} x ${vocab} = ${expected} (sequences = labels.length / seqLen)`,
    );
  if (vocab > 2 ** 31 - 1) throw IpoArgumentError.range('vocab', `vocab must be at most ${2 ** 31 - 1} so that int32 labels can address it (got ${vocab})`);
  for (let r = 0; r < labels.length; r++) {
    const label = labels[r];
    if (label === IGNORE_INDEX) continue;
    if (label < 0 || label >= vocab) {
      const sequence = Math.floor(r / seqLen);
      const position = r % seqLen;
      throw IpoArgumentError.range(
        'labels',
        `labels[${r}] (sequence ${sequence}, position ${position}) is ${label}: must be in [0, vocab=${vocab}) or -100`,
        { sequence, position },
      );
    }
  }
  return { logits, dtype, seqLen, vocab, labels, sequences };
}

export interface CheckedOptions {
  beta: number;
  lossType: NonNullable<DpoOptions['lossType']>;
  labelSmoothing: number;
  sftWeight: number;
  grad: NonNullable<DpoOptions['grad']>;
  threads: number;
  gradOut?: Float32Array | Uint16Array;
}

function optionalNumber(options: DpoOptions, name: keyof DpoOptions, fallback: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw IpoArgumentError.type(name, `options.${name} must be a number`);
  return value;
}

function oneOf<T extends string>(options: DpoOptions, name: keyof DpoOptions, allowed: readonly T[], fallback: T): T {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw IpoArgumentError.type(name, `options.${name} must be a string`);
  if (!allowed.includes(value as T))
    throw IpoArgumentError.type(name, `options.${name} must be ${allowed.map((a) => `'${a}'`).join(', ')} (got '${value}')`);
  return value as T;
}

export function checkOptions(options: DpoOptions | undefined): CheckedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null))
    throw IpoArgumentError.type('options', 'options must be an object');
  const o = options ?? {};
  const beta = optionalNumber(o, 'beta', 0.1);
  const labelSmoothing = optionalNumber(o, 'labelSmoothing', 0);
  const sftWeight = optionalNumber(o, 'sftWeight', 0);
  const threads = optionalNumber(o, 'threads', 0);
  if (!(threads >= 0) || !Number.isInteger(threads) || threads > 4096)
    throw IpoArgumentError.range('threads', `options.threads must be a positive integer (got ${threads})`);
  const lossType = oneOf(o, 'lossType', ['sigmoid', 'robust', 'hinge', 'ipo'] as const, 'sigmoid');
  const grad = oneOf(o, 'grad', ['buffer', 'inplace', 'none'] as const, 'buffer');
  const gradOut = o.gradOut;
  if (gradOut !== undefined && grad !== 'buffer')
    throw IpoArgumentError.type('gradOut', `options.gradOut goes with grad 'buffer' (got grad '${grad}')`);
  return { beta, lossType, labelSmoothing, sftWeight, grad, threads, ...(gradOut !== undefined ? { gradOut } : {}) };
}

function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** gradOut checks, after the input checks (same order as native/node/binding.cc). */
export function checkGradOut(input: DpoInput, x: CheckedInput, o: CheckedOptions): void {
  const out = o.gradOut;
  if (out === undefined) return;
  const isU16 = x.logits instanceof Uint16Array;
  if (isU16 ? !(out instanceof Uint16Array) : !(out instanceof Float32Array))
    throw IpoArgumentError.type('gradOut', `options.gradOut must be a ${isU16 ? 'Uint16Array' : 'Float32Array'}, like the logits`);
  if (out.length !== x.logits.length)
    throw IpoArgumentError.range('gradOut', `options.gradOut.length is ${out.length} but the logits have ${x.logits.length} elements`);
  const same = out.buffer === x.logits.buffer && out.byteOffset === x.logits.byteOffset;
  if (!same && overlaps(out, x.logits))
    throw IpoArgumentError.range('gradOut', "options.gradOut partly overlaps the logits (pass the logits array itself, or use grad 'inplace')");
  if (overlaps(out, x.labels) || (input.refLogps instanceof Float32Array && overlaps(out, input.refLogps)))
    throw IpoArgumentError.range('gradOut', 'options.gradOut overlaps labels or refLogps');
}

/** The DPO-specific checks, after checkInput/checkOptions (same order as the native core). */
export function checkDpo(input: DpoInput, x: CheckedInput, o: CheckedOptions): Float32Array {
  const ref = input.refLogps;
  if (!(ref instanceof Float32Array)) throw IpoArgumentError.type('refLogps', 'refLogps must be a Float32Array');
  if (ref.length !== x.sequences)
    throw IpoArgumentError.range('refLogps', `refLogps.length is ${ref.length} but the batch has ${x.sequences} sequences (2 x pairs)`);
  if (x.sequences % 2 !== 0)
    throw IpoArgumentError.range('labels', `the batch must hold 2 x pairs sequences (chosen then rejected); got an odd number: ${x.sequences}`);
  if (!(o.beta > 0) || !Number.isFinite(o.beta)) throw IpoArgumentError.range('beta', `beta must be a finite number > 0 (got ${o.beta})`);
  if (!(o.labelSmoothing >= 0 && o.labelSmoothing < 0.5))
    throw IpoArgumentError.range('labelSmoothing', `labelSmoothing must be in [0, 0.5) (got ${o.labelSmoothing})`);
  if (!(o.sftWeight >= 0) || !Number.isFinite(o.sftWeight))
    throw IpoArgumentError.range('sftWeight', `sftWeight must be a finite number >= 0 (got ${o.sftWeight})`);
  const pairs = x.sequences / 2;
  for (let s = 0; s < x.sequences; s++) {
    let scored = false;
    for (let t = 0; t < x.seqLen && !scored; t++) scored = x.labels[s * x.seqLen + t] !== IGNORE_INDEX;
    if (!scored)
      throw IpoArgumentError.range(
        'labels',
        `sequence ${s} (${s < pairs ? 'chosen' : 'rejected'} ${s % pairs}) has no scored token: every sequence needs at least one label other than -100`,
        { sequence: s },
      );
    if (!Number.isFinite(ref[s])) throw IpoArgumentError.range('refLogps', `refLogps[${s}] is not finite (${ref[s]})`, { sequence: s });
  }
  return ref;
}

export function nonFiniteError(sequence: number, position: number): RangeError {
  const err = IpoArgumentError.range(
    'logits',
    `logits hold NaN or an infinite value in a scored row: sequence ${sequence}, position ${position}`,
    { sequence, position },
  );
  return Object.assign(err, { code: 'IPO_ERR_NONFINITE' });
}
