import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AssemblyError, pairWithBase, readAssembly } from '../../../lib/cdkdiff/assembly.js';
import { writeAssembly } from './fixtures.js';

/** A real app with a top-level stack and a stage (a nested cloud assembly). */
function synth(queues: string[]): string {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-diff-stage-'));
  const app = new App({ outdir });
  const env = { account: '123456789012', region: 'eu-west-1' };
  new sqs.Queue(new Stack(app, 'Shared', { env }), 'Events');
  const prod = new Stage(app, 'Prod', { env });
  const api = new Stack(prod, 'Api');
  for (const name of queues) new sqs.Queue(api, name);
  app.synth();
  return outdir;
}

describe('readAssembly', () => {
  it('reads stacks of nested assemblies (stages) with their names, environment and construct paths', () => {
    const stacks = readAssembly(synth(['Jobs']));
    expect(stacks.map((s) => [s.displayName, s.stackName, s.account, s.region]).sort()).toEqual([
      ['Prod/Api', 'Prod-Api', '123456789012', 'eu-west-1'],
      ['Shared', 'Shared', '123456789012', 'eu-west-1'],
    ]);
    const api = stacks.find((s) => s.displayName === 'Prod/Api')!;
    const queueId = Object.keys(api.template.Resources as object).find((id) => id.startsWith('Jobs'))!;
    expect(api.logicalToPath[queueId]).toBe('Prod/Api/Jobs/Resource');
  });

  it('pairs stacks by stack name and environment, and names the ones the app dropped', () => {
    const base = readAssembly(
      writeAssembly([
        { id: 'A', template: {} },
        { id: 'B', template: {} },
      ]),
    );
    const head = readAssembly(
      writeAssembly([
        { id: 'A', template: {} },
        { id: 'C', template: {} },
        { id: 'A2', stackName: 'A', environment: 'aws://123456789012/eu-west-1', template: {} },
      ]),
    );
    const { pairs, dropped } = pairWithBase(head, base);
    expect(pairs.map((p) => [p.stack.displayName, p.base?.displayName])).toEqual([
      ['A', 'A'],
      ['C', undefined],
      ['A2', undefined],
    ]);
    expect(dropped.map((s) => s.displayName)).toEqual(['B']);
  });

  it('says what is wrong with a directory that is not a cloud assembly', () => {
    const empty = mkdtempSync(join(tmpdir(), 'cdk-diff-empty-'));
    expect(() => readAssembly(empty)).toThrow(AssemblyError);
    expect(() => readAssembly(empty)).toThrow(/has no manifest.json: it is not a synthesized cloud assembly/);
  });
});
