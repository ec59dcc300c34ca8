/**
 * Report writers: report.json (the contract: n, harmfulReasoningRatio, harmfulResponseRatio,
 * complianceRatio as { value, ci95 }, perCategory), report.md (tables) and chart.svg.
 */
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../run/files.js';
import { join } from 'node:path';
import { evalChartSvg } from './charts.js';
import type { EvalMetrics } from './metrics.js';
import type { Ratio } from './wilson.js';

export interface EvalReport extends EvalMetrics {
  benchmark: string;
  model: string;
  judges: { harm: string; refusal: string };
  samplesPerPrompt: number;
  sampling: { temperature: number; topP: number; maxTokens?: number };
  perCategory: Record<string, EvalMetrics>;
  /** The same generations judged by the offline refusal-phrase judge. */
  phraseBaseline: Pick<EvalMetrics, 'harmfulReasoningRatio' | 'harmfulResponseRatio' | 'complianceRatio'>;
  /** Benign generations whose answer was empty (cut off): counted as not compliant. */
  emptyAnswers: number;
  /** Work that failed (after the client's retries); rerun the same command to complete it. */
  failures: Array<{ unit: string; error: string }>;
  createdAt: string;
}

export interface UtilityReport {
  benchmark: string;
  model: string;
  samplesPerPrompt: number;
  sampling: { temperature: number; topP: number; maxTokens?: number };
  n: number;
  prompts: number;
  accuracy: Ratio;
  /** Generations where no final answer could be found. */
  noAnswer: number;
  failures: Array<{ unit: string; error: string }>;
  createdAt: string;
}


export function pct(r: Ratio): string {
  if (r.value === null) return '–';
  return `${(r.value * 100).toFixed(1)}% [${(r.ci95[0] * 100).toFixed(1)}, ${(r.ci95[1] * 100).toFixed(1)}] (${r.count}/${r.n})`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function evalMarkdown(report: EvalReport): string {
  const rows = [['all', report as EvalMetrics] as const, ...Object.entries(report.perCategory)];
  const lines = [
    `# ipo eval: ${report.benchmark}`,
    '',
    `Model \`${report.model}\`, ${report.samplesPerPrompt} sample(s) per prompt (temperature ${report.sampling.temperature}, top-p ${report.sampling.topP}); harm judge \`${report.judges.harm}\`, refusal judge \`${report.judges.refusal}\`.`,
    `Ratios over generations with 95% Wilson intervals in brackets, (count/judged).`,
    '',
    '| group | prompts | generations | harmful reasoning | harmful response | compliance |',
    '|---|---:|---:|---|---|---|',
    ...rows.map(([name, m]) => `| ${cell(name)} | ${m.prompts} | ${m.n} | ${pct(m.harmfulReasoningRatio)} | ${pct(m.harmfulResponseRatio)} | ${pct(m.complianceRatio)} |`),
    '',
  ];
  if (report.fourWay.n > 0) {
    const f = report.fourWay;
    lines.push(
      `## Reasoning x response (${f.n} generations)`,
      '',
      '| | safe response | unsafe response |',
      '|---|---:|---:|',
      `| safe reasoning | ${f.safeReasoningSafeResponse} | ${f.safeReasoningUnsafeResponse} |`,
      `| unsafe reasoning | ${f.unsafeReasoningSafeResponse} | ${f.unsafeReasoningUnsafeResponse} |`,
      '',
    );
  }
  const b = report.phraseBaseline;
  lines.push(
    '## Offline refusal-phrase baseline (same generations)',
    '',
    `harmful reasoning ${pct(b.harmfulReasoningRatio)}, harmful response ${pct(b.harmfulResponseRatio)}, compliance ${pct(b.complianceRatio)}`,
    '',
  );
  const codes = Object.entries(report.judgeCategories);
  if (codes.length) {
    lines.push('## Hazard categories named by the judge', '', '| code | in reasoning | in responses |', '|---|---:|---:|');
    for (const [code, c] of codes.sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))) lines.push(`| ${code} | ${c.reasoning} | ${c.response} |`);
    lines.push('');
  }
  const u = report.unparsed;
  if (u.reasoning + u.response + u.refusal > 0) {
    lines.push(`Unparseable judge answers (left out): reasoning ${u.reasoning}, response ${u.response}, refusal ${u.refusal}.`, '');
  }
  if (report.failures.length) lines.push(`**Incomplete:** ${report.failures.length} unit(s) failed; rerun the same command to resume.`, '');
  return lines.join('\n');
}

export function writeEvalReport(dir: string, report: EvalReport): { json: string; markdown: string; chart: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), chart: join(dir, 'chart.svg') };
  writeFileAtomic(paths.json, JSON.stringify(report, null, 2) + '\n');
  writeFileAtomic(paths.markdown, evalMarkdown(report));
  writeFileAtomic(paths.chart, evalChartSvg(`${report.benchmark}: ${report.model}`, report, report.perCategory));
  return paths;
}

export function utilityMarkdown(report: UtilityReport): string {
  return [
    `# ipo eval: ${report.benchmark} (utility)`,
    '',
    `Model \`${report.model}\`, ${report.samplesPerPrompt} sample(s) per prompt (temperature ${report.sampling.temperature}, top-p ${report.sampling.topP}).`,
    '',
    '| prompts | generations | accuracy (95% Wilson) | no final answer |',
    '|---:|---:|---|---:|',
    `| ${report.prompts} | ${report.n} | ${pct(report.accuracy)} | ${report.noAnswer} |`,
    '',
    ...(report.failures.length ? [`**Incomplete:** ${report.failures.length} unit(s) failed; rerun the same command to resume.`, ''] : []),
  ].join('\n');
}

export function writeUtilityReport(dir: string, report: UtilityReport): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md') };
  writeFileAtomic(paths.json, JSON.stringify(report, null, 2) + '\n');
  writeFileAtomic(paths.markdown, utilityMarkdown(report));
  return paths;
}
