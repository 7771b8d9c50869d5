/**
 * The runner's side of the JavaScript-action protocol, shared by the local
 * workflow runner and the e2e test harness (test/e2e/run-action.ts).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The Node 24 binary: the one running this code when it is 24+, else the project's. */
export function node24(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return process.execPath;
  const local = resolve(import.meta.dirname, '..', 'node_modules', '.bin', 'node');
  if (existsSync(local)) return local;
  throw new Error(
    'Node.js 24 is needed to run node24 actions: run `npm ci` (it installs one) or use Node 24',
  );
}

/** Parses the file-command format (name=value and name<<DELIMITER heredocs). */
export function parseFileCommands(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]!);
      result[heredoc[1]!] = value.join('\n');
    } else if (line.includes('=')) {
      result[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return result;
}
