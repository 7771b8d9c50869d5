/**
 * Step state: what a main step leaves for its post step (core.saveState /
 * core.getState). Each action declares its state once, as an interface of
 * string fields, and reads and writes it through `stepState<Shape>()`, so a
 * key is never spelled twice.
 */
import * as core from '@actions/core';

/** The host's own key: set when main starts, so the post step knows it is the post step. */
const PHASE = 'phase';

export interface StepState<Shape extends Record<string, string>> {
  save<K extends keyof Shape & string>(key: K, value: Shape[K]): void;
  /** The value main saved, or undefined when main never saved it. */
  get<K extends keyof Shape & string>(key: K): Shape[K] | undefined;
}

export function stepState<Shape extends Record<string, string>>(): StepState<Shape> {
  return {
    save: (key, value) => {
      if (key === PHASE) throw new Error(`step state key "${PHASE}" belongs to the host`);
      core.saveState(key, value);
    },
    get: (key) => (core.getState(key) || undefined) as Shape[typeof key] | undefined,
  };
}

/** True in the post step of an action whose main step ran (the runner passes main's state to post). */
export function isPostStep(): boolean {
  return core.getState(PHASE) === 'main';
}

export function markMainStep(): void {
  core.saveState(PHASE, 'main');
}
