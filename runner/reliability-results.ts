/**
 * The record of one reliability scenario: test/reliability appends one per
 * scenario, as a JSON line, to the file RELIABILITY_RESULTS names;
 * bench/reliability-report.ts and bench/reliability-mutation.ts set that
 * variable, run the tests and read the lines back. It lives here, not in
 * test/ or bench/, because both sides use it and bench/ never imports test/.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export const RESULTS_ENV = 'RELIABILITY_RESULTS';

export interface ReliabilityRow {
  /** Which table: the fault matrix or the bad-input suite. */
  suite: 'fault' | 'bad-input';
  action: string;
  /** The class of partial failure a fault scenario belongs to (issue #17's classes); absent for the others. */
  failureClass?: string;
  scenario: string;
  expected: string;
  observed: string;
  pass: boolean;
}

/** Appends the row to the RELIABILITY_RESULTS file, when that is set. */
export function recordRow(row: ReliabilityRow): void {
  const file = process.env[RESULTS_ENV];
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** The rows a run recorded in `file` (none when the file was never written). */
export function readRows(file: string): ReliabilityRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ReliabilityRow);
}
