/**
 * The IAM policy evaluator (@cloud-copilot/iam-simulate, AGPL-3.0) is a
 * devDependency of the simulator only: no action bundle may carry it, and
 * neither the domain layer nor the actions may import it.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

function files(dir: string, keep: (path: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (keep(path)) out.push(path);
    }
  };
  walk(join(root, dir));
  return out;
}

const mentions = (path: string) => /@cloud-copilot|iam-simulate/.test(readFileSync(path, 'utf8'));

describe('the IAM evaluator stays in the simulator', () => {
  it('no file under dist/ contains it', () => {
    const bundled = files('dist', () => true);
    expect(bundled.length).toBeGreaterThan(0);
    expect(bundled.filter(mentions).map((p) => relative(root, p))).toEqual([]);
  });

  it('lib/ and actions/ never import it', () => {
    const sources = [
      ...files('lib', (p) => p.endsWith('.ts')),
      ...files('actions', (p) => p.endsWith('.ts')),
    ];
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter(mentions).map((p) => relative(root, p))).toEqual([]);
  });

  it('within sim/, one module is its door', () => {
    const importers = files('sim', (p) => p.endsWith('.ts')).filter((p) =>
      /from '@cloud-copilot\//.test(readFileSync(p, 'utf8')),
    );
    expect(importers.map((p) => relative(root, p))).toEqual(['sim/iam/policy-eval.ts']);
  });
});
