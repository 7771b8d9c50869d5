/**
 * Bad input: names the input and says how to fix it. Thrown before any call
 * that changes anything in AWS.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly input: string,
    problem: string,
    readonly fix?: string,
  ) {
    super(`Input "${input}": ${problem}${fix ? `. Fix: ${fix}` : ''}`);
  }
}

/** A failure of the operation itself, with the details that explain it. */
export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(
    message: string,
    /** Longer explanation (events, stop reasons, log lines) for the log and the job summary. */
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** The run was cancelled (SIGINT/SIGTERM from the runner) or aborted by a caller. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** "InvalidParameterException: <message>": an AWS error's code tells what kind of problem it is. */
export function awsErrorText(err: unknown): string {
  const name = (err as { name?: string }).name;
  return name && name !== 'Error' ? `${name}: ${errorMessage(err)}` : errorMessage(err);
}
