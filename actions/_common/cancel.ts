/**
 * The runner cancels a step with SIGINT, then SIGTERM about 7.5 s later, then
 * SIGKILL. Turn the first signal into an abort so the action can clean up
 * (stop its task, roll back) and exit non-zero.
 */
export function cancellationSignal(onSignal?: (name: string) => void): AbortSignal {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      onSignal?.(name);
      controller.abort(`received ${name}`);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return controller.signal;
}
