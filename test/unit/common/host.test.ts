/** The action host's one error policy, cancellation, main/post dispatch and exit code. */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';
import { CancelledError, InputError, OperationError } from '../../../lib/errors.js';

jest.unstable_mockModule('@actions/core', () => core);
const { runAction } = await import('../../../actions/_common/host.js');
const { jobSummary } = await import('../../../actions/_common/summary.js');
const { stepState } = await import('../../../actions/_common/state.js');

let exit: jest.SpiedFunction<typeof process.exit>;
let state: Record<string, string> = {};

const host = (main: (signal: AbortSignal) => Promise<void>, post?: () => Promise<void>) =>
  runAction({ subject: 'Widget', onCancel: 'stopping the widgets', main, ...(post ? { post } : {}) });

beforeEach(() => {
  jest.clearAllMocks();
  core.summary.emptyBuffer();
  state = {};
  core.saveState.mockImplementation((name: string, value: unknown) => void (state[name] = String(value)));
  core.getState.mockImplementation((name: string) => state[name] ?? '');
  exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
});
afterEach(() => {
  expect(exit).not.toHaveBeenCalled();
  exit.mockRestore();
  process.exitCode = undefined;
});

describe('runAction: the error policy', () => {
  it('a main that returns leaves the step green and writes no summary of its own', async () => {
    await host(async () => core.info('done'));
    expect(core.setFailed).not.toHaveBeenCalled();
    expect(core.error).not.toHaveBeenCalled();
    expect(core.summary.write).not.toHaveBeenCalled();
    expect(process.exitCode).toBeUndefined();
  });

  it('an InputError fails with its message, titled with the input, and a summary naming it', async () => {
    await host(async () => {
      throw new InputError('timeout-seconds', '"-5" is not a whole number', 'give a number such as 300');
    });
    expect(core.error).toHaveBeenCalledWith(
      'Input "timeout-seconds": "-5" is not a whole number. Fix: give a number such as 300',
      { title: 'timeout-seconds' },
    );
    expect(core.setFailed).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(1);
    expect(core.summary.stringify()).toContain('# Widget failed');
    expect(core.summary.stringify()).toContain('&quot;-5&quot; is not a whole number');
  });

  it('an OperationError fails with its message then its details, which the summary collapses', async () => {
    await host(async () => {
      throw new OperationError('web: docker build failed', ['step 3/4 RUN npm ci', 'npm ERR! <404>']);
    });
    expect(core.setFailed).toHaveBeenCalledWith(
      'web: docker build failed\nstep 3/4 RUN npm ci\nnpm ERR! <404>',
    );
    expect(process.exitCode).toBe(1);
    expect(core.summary.addDetails).toHaveBeenCalledWith(
      'Details (2 lines)',
      '<pre>step 3/4 RUN npm ci\nnpm ERR! &lt;404&gt;</pre>',
    );
  });

  it('adds no failure section when main wrote its own summary before failing', async () => {
    await host(async () => {
      await jobSummary().heading('Widget report').write();
      throw new OperationError('2 widgets failed', ['a', 'b']);
    });
    expect(core.setFailed).toHaveBeenCalledWith('2 widgets failed\na\nb');
    expect(core.summary.write).toHaveBeenCalledTimes(1);
    expect(core.summary.stringify()).not.toContain('Widget failed');
  });

  it('a CancelledError fails as cancelled, with where it stopped', async () => {
    await host(async () => {
      throw new CancelledError('received SIGINT before any change');
    });
    expect(core.setFailed).toHaveBeenCalledWith('Widget cancelled: received SIGINT before any change');
    expect(core.summary.stringify()).toContain('# Widget cancelled');
    expect(process.exitCode).toBe(1);
  });

  it('an unexpected error fails with its message as is, its stack at debug level', async () => {
    const err = new TypeError("Cannot read properties of undefined (reading 'x')");
    await host(async () => {
      throw err;
    });
    expect(core.setFailed).toHaveBeenCalledWith("Cannot read properties of undefined (reading 'x')");
    expect(core.debug).toHaveBeenCalledWith(err.stack!);
    expect(process.exitCode).toBe(1);
  });

  it('a summary that cannot be written does not hide the failure', async () => {
    core.summary.write.mockRejectedValueOnce(
      new Error('Unable to find environment variable for $GITHUB_STEP_SUMMARY'),
    );
    await host(async () => {
      throw new Error('boom');
    });
    expect(core.setFailed).toHaveBeenCalledWith('boom');
    expect(process.exitCode).toBe(1);
  });
});

describe('runAction: cancellation', () => {
  it('SIGINT aborts main with one warning; an error thrown then is the cancellation', async () => {
    const listeners = process.listenerCount('SIGINT');
    const termListeners = process.listenerCount('SIGTERM');
    let seen: AbortSignal | undefined;
    await host(async (signal) => {
      seen = signal;
      expect(process.listenerCount('SIGINT')).toBe(listeners + 1);
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGTERM', 'SIGTERM'); // the runner's second signal: no second warning
      throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe('received SIGINT');
    expect(core.warning.mock.calls).toEqual([['Received SIGINT: stopping the widgets']]);
    expect(core.setFailed).toHaveBeenCalledWith('Widget cancelled: received SIGINT');
    expect(process.exitCode).toBe(1);
    // Listening stops with the step: a later signal ends the process as Node's default does.
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    expect(process.listenerCount('SIGTERM')).toBe(termListeners);
  });

  it('a verdict main reached after the signal (an OperationError) is reported as such', async () => {
    await host(async () => {
      process.emit('SIGTERM', 'SIGTERM');
      throw new OperationError('Cancelled; see above where each service stands.');
    });
    expect(core.warning).toHaveBeenCalledWith('Received SIGTERM: stopping the widgets');
    expect(core.setFailed).toHaveBeenCalledWith('Cancelled; see above where each service stands.');
  });

  it('a main that stops cleanly on the signal and returns leaves the outcome to main', async () => {
    await host(async (signal) => {
      process.emit('SIGINT', 'SIGINT');
      expect(signal.aborted).toBe(true);
    });
    expect(core.setFailed).not.toHaveBeenCalled();
    expect(process.exitCode).toBeUndefined();
  });
});

describe('runAction: main and post steps', () => {
  it('runs main first and marks it, then post in the post step', async () => {
    const main = jest.fn(async () => undefined);
    const post = jest.fn(async () => undefined);
    await host(main, post);
    expect(main).toHaveBeenCalledTimes(1);
    expect(post).not.toHaveBeenCalled();
    expect(state.phase).toBe('main');

    // The runner starts the bundle again with main's state.
    await host(main, post);
    expect(main).toHaveBeenCalledTimes(1);
    expect(post).toHaveBeenCalledTimes(1);
  });

  it('an action without a post step saves no state', async () => {
    await host(async () => undefined);
    expect(core.saveState).not.toHaveBeenCalled();
  });
});

describe('stepState', () => {
  interface Login extends Record<string, string> {
    'login-host': string;
  }

  it('saves and reads the keys its shape declares; an unsaved key is undefined', () => {
    const login = stepState<Login>();
    expect(login.get('login-host')).toBeUndefined();
    login.save('login-host', '127.0.0.1:5000');
    expect(core.saveState).toHaveBeenCalledWith('login-host', '127.0.0.1:5000');
    expect(login.get('login-host')).toBe('127.0.0.1:5000');
  });

  it("refuses the host's own key", () => {
    const bad = stepState<{ phase: string }>();
    expect(() => bad.save('phase', 'x')).toThrow('step state key "phase" belongs to the host');
  });
});
