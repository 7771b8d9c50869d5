/**
 * A jest reporter that adds one plain line, "tests: N passed, N failed", which
 * any CI log reader understands (jest's own summary is decorated).
 */
export default class PlainSummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const broken = results.numRuntimeErrorTestSuites;
    process.stdout.write(
      `tests: ${results.numPassedTests} passed, ${results.numFailedTests + broken} failed` +
        (skipped ? `, ${skipped} skipped` : '') +
        '\n',
    );
  }
}
