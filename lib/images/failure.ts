/**
 * Reads BuildKit's `--progress plain` output after a failed build and says
 * which Dockerfile step failed, why, and what it printed last.
 */

export interface BuildFailure {
  /** The failing step as BuildKit names it, e.g. `[3/3] COPY server.js ./`; undefined when no step ran (syntax error). */
  step?: string;
  /** BuildKit's error for the step or the whole build. */
  error: string;
  /** The step's own output (or the end of the build log), last lines. */
  output: string[];
}

const STEP_LINE = /^#(\d+) (.*)$/;

export function parseBuildFailure(log: string, tailLines = 20): BuildFailure {
  const lines = log.split(/\r?\n/);
  // Steps that reported an error; a missing cache source is an error line too, but never the cause.
  const errored = new Map<string, string>();
  const headers = new Map<string, string>();
  for (const line of lines) {
    const match = STEP_LINE.exec(line);
    if (!match) continue;
    const [, id, text] = match as unknown as [string, string, string];
    if (!headers.has(id) && !text.startsWith('sha256:')) headers.set(id, text);
    if (text.startsWith('ERROR') && !errored.has(id)) errored.set(id, text.replace(/^ERROR:?\s*/, ''));
  }
  const causes = [...errored.keys()].filter((id) => !/^importing cache manifest/.test(headers.get(id) ?? ''));
  // A Dockerfile step ("[2/3] RUN ...", "[build 2/5] ...") over BuildKit's internal ones.
  const failedStep = causes.find((id) => headers.get(id)?.startsWith('[')) ?? causes[0];
  const stepError = failedStep === undefined ? undefined : errored.get(failedStep);
  const finalError = [...lines]
    .reverse()
    .find((l) => /^(error|ERROR): /.test(l) || /^failed to (solve|compute)/.test(l))
    ?.replace(/^(error|ERROR): /, '');
  if (failedStep === undefined) {
    const output = lines.filter((l) => l.trim() !== '').slice(-tailLines);
    return { error: finalError ?? output.at(-1) ?? 'docker build failed', output };
  }
  const stepLines = lines
    .map((l) => STEP_LINE.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === failedStep)
    .map((m) => m[2]!);
  const header = headers.get(failedStep);
  // Output lines carry a timestamp ("0.123 text"); digests, DONE/ERROR/CACHED are BuildKit's own.
  const output = stepLines
    .filter((l) => l !== header && !/^(sha256:[0-9a-f]+|DONE|CACHED|ERROR)/.test(l))
    .map((l) => l.replace(/^\d+\.\d+ /, ''))
    .slice(-tailLines);
  return { step: header, error: stepError || finalError || 'failed', output };
}
