/**
 * Prints one plain closing line, `vitest: N passed, N failed[, N skipped]`, that CI systems read
 * without knowing vitest's own format, and writes the counts to $IPO_TEST_SUMMARY when set.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A module can fail with no failed test (a throwing import or beforeAll): that is one failure.
      failed += module.state() === 'failed' && failedHere === 0 ? 1 : failedHere;
    }
    const line = `vitest: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.stdout.write(`\n${line}\n`);
    if (process.env.IPO_TEST_SUMMARY) writeFileSync(process.env.IPO_TEST_SUMMARY, JSON.stringify({ passed, failed, skipped }));
  }
}
