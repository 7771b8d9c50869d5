import { expect } from '@jest/globals';
import { InputError } from '../../../lib/errors.js';

/** The InputError `fn` throws; fails the test when it throws anything else or nothing. */
export function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}
