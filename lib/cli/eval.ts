/**
 * `ipo eval`: harmful-reasoning / harmful-response / compliance ratios with 95% intervals, or
 * GSM8K / MATH-500 accuracy. Parses flags and calls lib/eval; see docs/eval.md.
 */
import { parseArgs } from 'node:util';
import { loadEvalPrompts } from '../eval/benchmarks.js';
import { UsageError, asUsage, choiceFlag, intFlag, numberFlag, optionalIntFlag } from '../eval/flags.js';
import { pct } from '../eval/report.js';
import { runEvaluation } from '../eval/run-eval.js';
import { buildJudges, policyClient } from '../eval/setup.js';
import { loadUtilityItems, runUtility, type UtilityBenchmark } from '../eval/utility.js';

const HELP = `usage: ipo eval --benchmark NAME|FILE --base-url URL --model NAME [options]

Samples answers, judges reasoning and answer separately, writes DIR/report.json, report.md, chart.svg.

benchmark:
  --benchmark B            jbb | jbb-benign | strongreject | harmbench | advbench | xstest | gsm8k | math500 | FILE
  --data-dir DIR           where the named benchmark files are (default: the package's data/)
  --benchmark-file FILE    the JSONL file for gsm8k / math500 (default: the package's data/)
  --benign                 FILE only: every prompt is benign (judged for compliance)
  --limit N                only the first N prompts
policy (env IPO_BASE_URL, IPO_MODEL, IPO_API_KEY):
  --base-url URL[,URL..]   OpenAI-compatible endpoint(s) of the model under test
  --model NAME
  --samples N              answers per prompt (default 1)
  --temperature T          default 0.6
  --top-p P                default 0.95
  --max-tokens N           per answer (default: the server's)
  --seed N                 base seed (sample k uses N+k) where the server honours seeds
  --system TEXT            a system prompt
judges (env IPO_JUDGE_BASE_URL, IPO_JUDGE_MODEL, IPO_JUDGE_API_KEY):
  --judge llm|phrases      phrases = offline refusal-phrase judge (default when no judge endpoint is set)
  --judge-base-url URL     --judge-model NAME
  --judge-format F         auto | guard | rubric | json (default auto: guard for *guard* models, else rubric)
  --refusal-judge-base-url URL  --refusal-judge-model NAME   (default: the judge's)
  --refusal-judge-format F rubric | json (default rubric)
  --judge-max-tokens N     default 512
run:
  --output DIR             default eval-<benchmark>; rerun with the same DIR to resume
  --concurrency N          requests in flight (default 8)
  --timeout-ms N           per request   --max-retries N   retries per request
  -q, --quiet              no progress on stderr
`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        benchmark: { type: 'string' },
        'data-dir': { type: 'string' },
        'benchmark-file': { type: 'string' },
        benign: { type: 'boolean' },
        limit: { type: 'string' },
        'base-url': { type: 'string' },
        model: { type: 'string' },
        samples: { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        'max-tokens': { type: 'string' },
        seed: { type: 'string' },
        system: { type: 'string' },
        judge: { type: 'string' },
        'judge-base-url': { type: 'string' },
        'judge-model': { type: 'string' },
        'judge-format': { type: 'string' },
        'refusal-judge-base-url': { type: 'string' },
        'refusal-judge-model': { type: 'string' },
        'refusal-judge-format': { type: 'string' },
        'judge-max-tokens': { type: 'string' },
        output: { type: 'string' },
        concurrency: { type: 'string' },
        'timeout-ms': { type: 'string' },
        'max-retries': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
      },
    }));
  } catch (err) {
    process.stderr.write(`ipo eval: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    if (!values.benchmark) throw new UsageError('--benchmark is required (a benchmark name or a prompt file)');
    const benchmark = values.benchmark;
    const samples = intFlag('samples', values.samples, 1);
    const limit = optionalIntFlag('limit', values.limit);
    const sampling = {
      temperature: numberFlag('temperature', values.temperature, 0.6, 0, 2),
      topP: numberFlag('top-p', values['top-p'], 0.95, 0, 1),
      ...(values['max-tokens'] !== undefined ? { maxTokens: intFlag('max-tokens', values['max-tokens'], 0) } : {}),
      ...(values.seed !== undefined ? { seed: intFlag('seed', values.seed, 0, 0) } : {}),
    };
    const concurrency = intFlag('concurrency', values.concurrency, 8);
    const connection = {
      timeoutMs: optionalIntFlag('timeout-ms', values['timeout-ms']),
      maxRetries: optionalIntFlag('max-retries', values['max-retries'], 0),
      onRetry: values.quiet ? undefined : (m: string) => process.stderr.write(`ipo eval: ${m}\n`),
    };
    const judgeKind = values.judge === undefined ? undefined : choiceFlag('judge', values.judge, ['llm', 'phrases'] as const, 'llm');
    const judgeFormat = choiceFlag('judge-format', values['judge-format'], ['auto', 'guard', 'rubric', 'json'] as const, 'auto');
    const refusalFormat = choiceFlag('refusal-judge-format', values['refusal-judge-format'], ['rubric', 'json'] as const, 'rubric');
    const judgeMaxTokens = optionalIntFlag('judge-max-tokens', values['judge-max-tokens']);
    const outputDir = values.output ?? `eval-${benchmark.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
    const onProgress = values.quiet ? undefined : (m: string) => process.stderr.write(`ipo eval: ${m}\n`);

    if (benchmark === 'gsm8k' || benchmark === 'math500') {
      let items = loadUtilityItems(benchmark as UtilityBenchmark, values['benchmark-file']);
      if (limit !== undefined) items = items.slice(0, limit);
      const policy = asUsage(() => policyClient({ baseUrl: values['base-url'], model: values.model }, connection));
      const report = await runUtility(benchmark as UtilityBenchmark, items, { policy, samples, sampling, systemPrompt: values.system, concurrency, outputDir, onProgress });
      process.stdout.write(`${benchmark}: accuracy ${pct(report.accuracy)}, no final answer ${report.noAnswer}/${report.n}\nreport: ${outputDir}/report.json\n`);
      return incomplete(report.failures, outputDir);
    }

    let { name, prompts } = loadEvalPrompts(benchmark, { dataDir: values['data-dir'], benign: values.benign });
    if (limit !== undefined) prompts = prompts.slice(0, limit);
    const policy = asUsage(() => policyClient({ baseUrl: values['base-url'], model: values.model }, connection));
    const judges = asUsage(() => buildJudges({
      ...connection,
      judge: judgeKind,
      judgeBaseUrl: values['judge-base-url'],
      judgeModel: values['judge-model'],
      judgeFormat,
      refusalJudgeBaseUrl: values['refusal-judge-base-url'],
      refusalJudgeModel: values['refusal-judge-model'],
      refusalJudgeFormat: refusalFormat,
      judgeMaxTokens,
    }));
    if (judges.offlineReason && !values.quiet) process.stderr.write(`ipo eval: using the offline refusal-phrase judge (${judges.offlineReason})\n`);
    const report = await runEvaluation({ benchmark: name, prompts, policy, harmJudge: judges.harm, refusalJudge: judges.refusal, samples, sampling, systemPrompt: values.system, concurrency, outputDir, onProgress });
    const lines = [`${name}: ${report.prompts} prompts, ${report.n} generations`];
    if (report.harmfulReasoningRatio.n > 0) lines.push(`harmful reasoning ${pct(report.harmfulReasoningRatio)}`, `harmful response  ${pct(report.harmfulResponseRatio)}`);
    if (report.complianceRatio.n > 0) lines.push(`compliance        ${pct(report.complianceRatio)}`);
    lines.push(`report: ${outputDir}/report.json, ${outputDir}/report.md, ${outputDir}/chart.svg`);
    process.stdout.write(lines.join('\n') + '\n');
    return incomplete(report.failures, outputDir);
  } catch (err) {
    process.stderr.write(`ipo eval: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

function incomplete(failures: Array<{ unit: string; error: string }>, outputDir: string): number {
  if (!failures.length) return 0;
  process.stderr.write(`ipo eval: ${failures.length} unit(s) failed (first: ${failures[0]!.unit}: ${failures[0]!.error}); rerun with --output ${outputDir} to resume\n`);
  return 1;
}
