import * as core from '@actions/core';
import type { Log } from '../../lib/log.js';

/** lib/'s Log over the runner's workflow commands. */
export const coreLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
  debug: (m) => core.debug(m),
  group: (name, fn) => core.group(name, fn),
};
