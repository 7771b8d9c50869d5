import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildStaging } from '../lib/staging.js';

const infraDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The context `cdk synth` runs with: cdk.json's context plus the committed lookups. */
export function committedContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(infraDir, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const lookups = JSON.parse(readFileSync(join(infraDir, 'cdk.context.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return { ...cdkJson.context, ...lookups };
}

export type StagingStacks = ReturnType<typeof buildStaging>;

export interface SynthesizedStaging {
  readonly app: App;
  readonly stacks: StagingStacks;
  /** Stack key (network, ecs, ...) -> its template. */
  readonly templates: Record<keyof StagingStacks, Template>;
}

/** Builds and synthesizes the staging app once; share the result across a test file. */
export function synthStaging(context: Record<string, unknown> = {}): SynthesizedStaging {
  const app = new App({ context: { ...committedContext(), ...context } });
  const stacks = buildStaging(app);
  app.synth();
  const templates = Object.fromEntries(
    Object.entries(stacks).map(([key, stack]) => [key, Template.fromStack(stack as Stack)]),
  ) as Record<keyof StagingStacks, Template>;
  return { app, stacks, templates };
}
