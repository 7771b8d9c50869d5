/**
 * How lib/ reports progress. Actions implement it over @actions/core; tests,
 * the demo and benchmarks use their own.
 */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  /** title: what the annotation is about (a service, an input), shown as its heading on GitHub. */
  error(message: string, options?: { title?: string }): void;
  debug(message: string): void;
  /** Runs fn inside a collapsible group of the job log. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export const consoleLog: Log = {
  info: (m) => console.log(m),
  warning: (m) => console.log(`warning: ${m}`),
  error: (m) => console.log(`error: ${m}`),
  debug: () => undefined,
  group: async (name, fn) => {
    console.log(`▶ ${name}`);
    return fn();
  },
};

/** A Log that keeps every line, for tests. */
export function memoryLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(m),
    warning: (m) => void lines.push(`warning: ${m}`),
    error: (m) => void lines.push(`error: ${m}`),
    debug: () => undefined,
    group: async (name, fn) => {
      lines.push(`group: ${name}`);
      return fn();
    },
  };
}
