import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import type { Log } from '../../lib/log.js';

/** lib/'s Log over the runner's workflow commands. */
export const coreLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m, options) => core.error(m, options?.title ? { title: options.title } : {}),
  debug: (m) => core.debug(m),
  group: (name, fn) => core.group(name, fn),
};

/**
 * Prints lines another program wrote (a task's log) as they are: a line such
 * as "::error::" or "::add-mask::" must not act as a workflow command, so a
 * batch holding one is wrapped in stop-commands with a one-off token.
 */
export function printVerbatim(lines: readonly string[]): void {
  const wrap = lines.some((line) => line.includes('::'));
  const token = wrap ? randomUUID() : '';
  if (wrap) core.info(`::stop-commands::${token}`);
  for (const line of lines) core.info(line);
  if (wrap) core.info(`::${token}::`);
}
