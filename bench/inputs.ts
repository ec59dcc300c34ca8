/**
 * Benchmark inputs: random logits (never zeros: exp() and the data paths must see real values),
 * labels with a contiguous scored segment per sequence (the IPO layout: shared context unscored,
 * the divergent segment scored), and bfloat16 conversion.
 */

export interface Shape {
  pairs: number;
  seqLen: number;
  vocab: number;
}

export const sequencesOf = (shape: Shape): number => 2 * shape.pairs;
export const rowsOf = (shape: Shape): number => 2 * shape.pairs * shape.seqLen;
export const elementsOf = (shape: Shape): number => rowsOf(shape) * shape.vocab;

/** xoshiro128** (32-bit state words): fast, seedable, good enough to fill a gigabyte of logits. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = seed | 0 || 1;
    this.b = 0x9e3779b9;
    this.c = 0x85ebca6b;
    this.d = 0xc2b2ae35;
    for (let i = 0; i < 16; i++) this.nextU32();
  }
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Fills `out` with logits of roughly N(0, 2^2): the sum of four uniforms on [-1, 1) (an
 * Irwin-Hall approximation of a normal, variance 4/3) scaled by sqrt(3). Logits of a trained model
 * spread over a few units, which is what matters here: exp() never underflows to zero everywhere.
 */
export function fillLogits(out: Float32Array, seed: number): void {
  const rng = new Rng(seed);
  const scale = Math.sqrt(3) / 2147483648;
  for (let i = 0; i < out.length; i++) {
    // Four signed 32-bit draws, each uniform on [-2^31, 2^31).
    const s = (rng.nextU32() | 0) + (rng.nextU32() | 0) + (rng.nextU32() | 0) + (rng.nextU32() | 0);
    out[i] = s * scale;
  }
}

/**
 * Labels [sequences, seqLen]: each sequence scores one contiguous segment of
 * round(fraction * seqLen) positions (at least one) at a random offset; the rest is -100.
 */
export function makeLabels(shape: Shape, fraction: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const sequences = sequencesOf(shape);
  const labels = new Int32Array(sequences * shape.seqLen).fill(-100);
  const length = Math.max(1, Math.round(fraction * shape.seqLen));
  for (let s = 0; s < sequences; s++) {
    const start = rng.int(shape.seqLen - length + 1);
    for (let t = start; t < start + length; t++) labels[s * shape.seqLen + t] = rng.int(shape.vocab);
  }
  return labels;
}

export function countScored(labels: Int32Array): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== -100) n++;
  return n;
}

/**
 * Reference-model log-probs [sequences] near what the policy will produce on these logits
 * (scored tokens x -(ln vocab + sigma^2 / 2) for N(0, sigma^2) logits), so the DPO margins are
 * moderate and the loss is an ordinary, finite number.
 */
export function makeRefLogps(shape: Shape, labels: Int32Array, seed: number): Float32Array {
  const rng = new Rng(seed);
  const perToken = -(Math.log(shape.vocab) + 2);
  const out = new Float32Array(sequencesOf(shape));
  for (let s = 0; s < out.length; s++) {
    let scored = 0;
    for (let t = 0; t < shape.seqLen; t++) if (labels[s * shape.seqLen + t] !== -100) scored++;
    out[s] = scored * perToken + (rng.next() - 0.5) * 4;
  }
  return out;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 -> bfloat16 bits, round to nearest even (inputs here are finite). */
export function toBfloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const bits = u32Scratch[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function toBfloat16(source: Float32Array): Uint16Array {
  const out = new Uint16Array(source.length);
  const bits = new Uint32Array(source.buffer, source.byteOffset, source.length);
  for (let i = 0; i < out.length; i++) {
    const b = bits[i];
    out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** A 65536-entry table from bfloat16 bits to float32: the plain way to decode bf16 in JS. */
export const BF16_TO_F32: Float32Array = (() => {
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let i = 0; i < 65536; i++) bits[i] = i << 16;
  return table;
})();
