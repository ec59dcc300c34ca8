#!/usr/bin/env node
/**
 * `ipo` command dispatcher. Holds no logic: each command lives in its own module under lib/cli/
 * exporting `run(argv): Promise<number>` (the exit code), loaded only when invoked so that
 * `ipo doctor` never pays for TensorFlow.js and `ipo train` never pays for the HTTP client.
 */
import { formatError } from '../run/errors.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  intervene: { summary: 'build IPO preference pairs from reasoning traces (Algorithm 1)', load: () => import('./intervene.js') },
  benign: { summary: 'build stage-2 benign pairs (normal answer vs refusal)', load: () => import('./benign.js') },
  train: { summary: 'two-stage IPO training: a small TensorFlow.js model (embedded default), or a Hugging Face model with TRL (--engine trl)', load: () => import('./train.js') },
  eval: { summary: 'harmful-reasoning / harmful-response / compliance ratios with 95% intervals', load: () => import('./eval.js') },
  csr: { summary: 'Continuation Safety Ratio curves, turning points, trigger mining', load: () => import('./csr.js') },
  doctor: { summary: 'which loss backend loads here (cuda, cpu, js) and why', load: () => import('./doctor.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: ipo <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'ipo <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    process.stdout.write(pkg.version + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`ipo: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ipo: ${formatError(err)}\n`);
    if (process.env.IPO_DEBUG) console.error(err);
    process.exitCode = 1;
  },
);
