/**
 * Runs a command in-process with its stdout and stderr captured instead of printed, so that a passing
 * test prints nothing that looks like a failure; tests assert on what was written.
 */
export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function capture(run: () => Promise<number>): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await run(), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A command's run() that captures its output: returns the exit code, keeps the output in `last`. */
export function captured(run: (argv: string[]) => Promise<number>) {
  const wrapper = async (argv: string[]) => {
    wrapper.last = await capture(() => run(argv));
    return wrapper.last.code;
  };
  wrapper.last = { code: -1, stdout: '', stderr: '' } as Captured;
  return wrapper;
}
