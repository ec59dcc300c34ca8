/** Strict number parsing for command-line flags: a bad value is a one-line error naming the flag. */

export class UsageError extends Error {}

export function intFlag(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return Number(value);
}

export function optionalIntFlag(name: string, value: string | undefined, min = 1): number | undefined {
  return value === undefined ? undefined : intFlag(name, value, 0, min);
}

export function numberFlag(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${value}'`);
  return n;
}

export function choiceFlag<T extends string>(name: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** Configuration errors (missing endpoint, bad URL, unreadable input) are usage errors: exit code 2. */
export function asUsage<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
