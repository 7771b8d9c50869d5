/** Runs the docker client as a child process (the action layer's half of lib/images' Runner). */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { CommandResult, Runner } from '../../../lib/images/pipeline.js';
import {
  chooseDocker,
  dockerCandidates,
  parseBuildxDriver,
  type DockerChoice,
} from '../../../lib/images/docker-select.js';

export function dockerRunner(binary: string): Runner {
  return {
    run: (args, opts = {}) =>
      new Promise<CommandResult>((resolve, reject) => {
        const child = spawn(binary, args, {
          env: { ...process.env, ...opts.env },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let output = '';
        let partial = '';
        const onData = (chunk: Buffer) => {
          const text = chunk.toString();
          output += text;
          if (!opts.onLine) return;
          const lines = (partial + text).split('\n');
          partial = lines.pop()!;
          lines.forEach(opts.onLine);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        const onAbort = () => child.kill('SIGTERM');
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        child.on('error', reject);
        child.on('close', (code) => {
          opts.signal?.removeEventListener('abort', onAbort);
          if (partial) opts.onLine?.(partial);
          resolve({ exitCode: code ?? 1, output });
        });
        // A client that exits before reading stdin must not crash the action with EPIPE.
        child.stdin.on('error', () => undefined);
        child.stdin.end(opts.stdin ?? '');
      }),
  };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function selectDocker(explicit?: string): Promise<DockerChoice> {
  const candidates = explicit ? [explicit] : dockerCandidates(process.env.PATH ?? '', isExecutable);
  return chooseDocker(candidates, {
    // `--version` and `buildx version` answer without the engine: probing stays cheap.
    clientVersion: async (binary) => {
      const out = await dockerRunner(binary)
        .run(['--version'])
        .catch(() => undefined);
      return out?.exitCode === 0 ? /version (\d+\.\d+\.\d+\S*?),?\s/.exec(out.output)?.[1] : undefined;
    },
    buildxDriver: async (binary) => {
      const runner = dockerRunner(binary);
      const present = await runner.run(['buildx', 'version']).catch(() => undefined);
      if (present?.exitCode !== 0) return undefined;
      const inspect = await runner.run(['buildx', 'inspect']).catch(() => undefined);
      return inspect?.exitCode === 0 ? (parseBuildxDriver(inspect.output) ?? 'unknown') : 'unknown';
    },
  });
}
