/** Facts about the local repository the runner stands in for GitHub's settings with. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { EnvironmentRule } from './run.js';

/** This repository: the one the runner runs workflows and actions of. */
export const repositoryRoot = resolve(import.meta.dirname, '..');

export function loadEnvironments(root: string): Record<string, EnvironmentRule> {
  const file = resolve(root, '.github', 'environments.yml');
  return existsSync(file)
    ? ((parseYaml(readFileSync(file, 'utf8')) as Record<string, EnvironmentRule>) ?? {})
    : {};
}

export function headSha(root: string): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '0000000000000000000000000000000000000000';
  }
}
