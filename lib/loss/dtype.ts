/**
 * float32 <-> bfloat16 / float16 bit conversions, round to nearest even, in plain TypeScript.
 * The same rounding the native kernels use, so reference and native gradients agree bit for bit
 * whenever their float32 values do.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16ToFloat(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

export function floatToBf16(value: number): number {
  f32[0] = value;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f16ToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function floatToF16(value: number): number {
  f32[0] = value; // round to float32 first, as the native path does
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const abs = u & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    if (abs < 0x33000000) return sign;
    const e = abs >>> 23;
    const mant = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let r = abs + 0xfff + ((abs >>> 13) & 1);
  r -= 0x38000000;
  return (sign | (r >>> 13)) & 0xffff;
}

/** Reads element i of logits as a number, whatever the dtype. */
export function elementReader(logits: Float32Array | Uint16Array, dtype: string): (i: number) => number {
  if (dtype === 'bfloat16') return (i) => bf16ToFloat(logits[i]);
  if (dtype === 'float16') return (i) => f16ToFloat(logits[i]);
  return (i) => logits[i];
}

/** Encodes an array of numbers into the storage of dtype. */
export function encode(values: ArrayLike<number>, dtype: string): Float32Array | Uint16Array {
  if (dtype === 'float32') return Float32Array.from(values);
  const enc = dtype === 'bfloat16' ? floatToBf16 : floatToF16;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = enc(values[i]);
  return out;
}

/** Decodes logits or a gradient of any dtype into float64. */
export function decode(values: Float32Array | Uint16Array, dtype: string): Float64Array {
  const read = elementReader(values, dtype);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = read(i);
  return out;
}
