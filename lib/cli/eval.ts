/**
 * `ipo eval`: harmful-reasoning / harmful-response / compliance ratios with 95% intervals, or
 * GSM8K / MATH-500 accuracy. Wires flags to lib/eval; see docs/eval.md.
 */
import { loadEvalPrompts } from '../eval/benchmarks.js';
import { pct } from '../eval/report.js';
import { runEvaluation } from '../eval/run-eval.js';
import { buildJudges, policyClient } from '../eval/setup.js';
import { isUtilityBenchmark, loadUtilityItems, runUtility } from '../eval/utility.js';
import { ENDPOINT_OPTIONS, readConnection, readSampling, SAMPLING_OPTIONS, SHARED_HELP } from './endpoint-flags.js';
import { asUsage, COMMON_HELP, COMMON_OPTIONS, OUTPUT_OPTION, RUN_OPTIONS, runCommand } from './flags.js';
import { JUDGE_HELP, JUDGE_OPTIONS, readJudgeFlags } from './judge-flags.js';

const HELP = `usage: ipo eval --benchmark NAME|FILE --base-url URL --model NAME [options]

Samples answers, judges reasoning and answer separately, writes DIR/report.json, report.md, chart.svg.

benchmark:
  --benchmark B            jbb | jbb-benign | strongreject | harmbench | advbench | xstest | gsm8k | math500 | FILE
  --data-dir DIR           where the named benchmark files are (default: the package's data/)
  --benchmark-file FILE    the JSONL file for gsm8k / math500 (default: the package's data/)
  --benign                 FILE only: every prompt is benign (judged for compliance)
policy:
${SHARED_HELP.endpoint}
  --samples N              answers per prompt (default 1)
${SHARED_HELP.sampling}
  --system TEXT            a system prompt
judges:
${JUDGE_HELP}
  --refusal-judge-base-url URL  --refusal-judge-model NAME  --refusal-judge-api-key KEY  (default: the judge's)
  --refusal-judge-format F rubric | json (default rubric)
run:
  -o, --output DIR         default eval-<benchmark>; rerun with the same DIR to resume
${COMMON_HELP.run}
  --timeout-ms N           deprecated: use --timeout (seconds)
${COMMON_HELP.common}
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...OUTPUT_OPTION,
  ...ENDPOINT_OPTIONS,
  ...SAMPLING_OPTIONS,
  ...RUN_OPTIONS,
  ...JUDGE_OPTIONS,
  benchmark: { type: 'string' },
  'data-dir': { type: 'string' },
  'benchmark-file': { type: 'string' },
  benign: { type: 'boolean' },
  samples: { type: 'string' },
  system: { type: 'string' },
  'refusal-judge-base-url': { type: 'string' },
  'refusal-judge-model': { type: 'string' },
  'refusal-judge-api-key': { type: 'string' },
  'refusal-judge-format': { type: 'string' },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommand({ name: 'eval', help: HELP, options: OPTIONS, onInterrupt: () => 'finished work is cached: re-run with the same --output to resume' }, argv, async (flags) => {
    const benchmark = flags.required('benchmark', 'a benchmark name or a prompt file');
    const samples = flags.int('samples', 1, 1);
    const limit = flags.limit();
    const sampling = readSampling(flags);
    const concurrency = flags.concurrency();
    const quiet = flags.quiet();
    const connection = { ...readConnection(flags), onRetry: quiet ? undefined : (m: string) => process.stderr.write(`ipo eval: ${m}\n`) };
    const judgeSettings = {
      ...readJudgeFlags(flags),
      refusalJudgeBaseUrl: flags.string('refusal-judge-base-url'),
      refusalJudgeModel: flags.string('refusal-judge-model'),
      refusalJudgeApiKey: flags.string('refusal-judge-api-key'),
      refusalJudgeFormat: flags.choice('refusal-judge-format', ['rubric', 'json'] as const, 'rubric'),
    };
    const outputDir = flags.output(`eval-${benchmark.replace(/[^A-Za-z0-9._-]+/g, '_')}`)!;
    const onProgress = quiet ? undefined : (m: string) => process.stderr.write(`ipo eval: ${m}\n`);
    const policyFlags = { baseUrl: flags.string('base-url'), model: flags.string('model'), apiKey: flags.string('api-key') };
    const systemPrompt = flags.string('system');

    if (isUtilityBenchmark(benchmark)) {
      let items = loadUtilityItems(benchmark, flags.string('benchmark-file'));
      if (limit !== undefined) items = items.slice(0, limit);
      const policy = asUsage(() => policyClient(policyFlags, connection));
      const report = await runUtility(benchmark, items, { policy, samples, sampling, systemPrompt, concurrency, outputDir, onProgress });
      process.stdout.write(`${benchmark}: accuracy ${pct(report.accuracy)}, no final answer ${report.noAnswer}/${report.n}\nreport: ${outputDir}/report.json\n`);
      return incomplete(report.failures, outputDir);
    }

    let { name, prompts } = loadEvalPrompts(benchmark, { dataDir: flags.string('data-dir'), benign: flags.bool('benign') });
    if (limit !== undefined) prompts = prompts.slice(0, limit);
    const policy = asUsage(() => policyClient(policyFlags, connection));
    const judges = asUsage(() => buildJudges({ ...connection, ...judgeSettings }));
    if (judges.offlineReason && !quiet) process.stderr.write(`ipo eval: using the offline refusal-phrase judge (${judges.offlineReason})\n`);
    const report = await runEvaluation({ benchmark: name, prompts, policy, harmJudge: judges.harm, refusalJudge: judges.refusal, samples, sampling, systemPrompt, concurrency, outputDir, onProgress });
    const lines = [`${name}: ${report.prompts} prompts, ${report.n} generations`];
    if (report.harmfulReasoningRatio.n > 0) lines.push(`harmful reasoning ${pct(report.harmfulReasoningRatio)}`, `harmful response  ${pct(report.harmfulResponseRatio)}`);
    if (report.complianceRatio.n > 0) lines.push(`compliance        ${pct(report.complianceRatio)}`);
    lines.push(`report: ${outputDir}/report.json, ${outputDir}/report.md, ${outputDir}/chart.svg`);
    process.stdout.write(lines.join('\n') + '\n');
    return incomplete(report.failures, outputDir);
  });
}

function incomplete(failures: Array<{ unit: string; error: string }>, outputDir: string): number {
  if (!failures.length) return 0;
  process.stderr.write(`ipo eval: ${failures.length} unit(s) failed (first: ${failures[0]!.unit}: ${failures[0]!.error}); rerun with --output ${outputDir} to resume\n`);
  return 1;
}
