/**
 * `ipo doctor`: which loss backend loads here and why each candidate was or was not taken.
 * Exit code 0 when a native backend loads, 1 when only the TypeScript reference is left.
 */
import { parseArgs } from 'node:util';
import { cpuFeatures, glibcVersion, platformDir, platformNote, resolveBackend } from '../loss/native.js';

const HELP = `usage: ipo doctor [--json]

Shows the loss backend that loads on this machine (cuda, cpu or js), every binary that was
considered and why it was or was not taken, the glibc version, and the CPU features the kernels
use (the vector level they chose is the 'simd' of the loaded backend). IPO_BACKEND=cpu|cuda|js forces one; IPO_ADDON_PATH
names one binary.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  let loaded;
  try {
    loaded = resolveBackend();
  } catch (err) {
    process.stderr.write(`ipo doctor: ${(err as Error).message}\n`);
    return 1;
  }
  const info = loaded.binding?.backendInfo();
  const report = {
    backend: loaded.backend,
    path: loaded.path ?? null,
    info: info ?? null,
    node: process.version,
    platform: platformDir(),
    glibc: glibcVersion(),
    cpuFeatures: cpuFeatures(),
    platformNote: loaded.backend === 'js' ? (platformNote() ?? null) : null,
    cudaProbe: loaded.cudaProbe ?? null,
    forced: process.env.IPO_BACKEND ?? null,
    attempts: loaded.attempts,
    reason: loaded.reason ?? null,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    const lines = [
      `backend: ${loaded.backend}${loaded.path ? ` (${loaded.path})` : ''}`,
      info ? `  simd ${info.simd}, ${info.threads} threads, version ${info.version}${info.device ? `, device ${info.device}` : ''}` : '  float64 TypeScript reference (slow)',
      `node ${process.version}, ${report.platform}, ${report.glibc ? `glibc ${report.glibc}` : 'no glibc'}`,
      `cpu features the kernels use: ${Object.entries(report.cpuFeatures).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ') || 'none known for this architecture'}`,
      ...(report.platformNote ? [`note: ${report.platformNote}`] : []),
      ...(report.forced ? [`IPO_BACKEND=${report.forced}`] : []),
      ...(process.env.IPO_ADDON_PATH ? [`IPO_ADDON_PATH=${process.env.IPO_ADDON_PATH}`] : []),
      'candidates:',
      ...loaded.attempts.map((a) => `  [${a.ok ? 'ok' : '--'}] ${a.backend}: ${a.reason}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  return loaded.backend === 'js' && process.env.IPO_BACKEND?.toLowerCase() !== 'js' ? 1 : 0;
}
