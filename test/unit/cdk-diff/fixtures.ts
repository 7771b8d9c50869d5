/** Small hand-written cloud assemblies, laid out as `cdk synth` writes them. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HandStack {
  id: string;
  stackName?: string;
  template: Record<string, unknown>;
  /** Logical ID -> construct path. */
  paths?: Record<string, string>;
  environment?: string;
}

/** Writes a minimal cloud assembly (manifest.json + templates) as `cdk synth` lays it out. */
export function writeAssembly(
  stacks: HandStack[],
  dir = mkdtempSync(join(tmpdir(), 'cdk-diff-asm-')),
): string {
  mkdirSync(dir, { recursive: true });
  const artifacts: Record<string, unknown> = {};
  for (const stack of stacks) {
    const templateFile = `${stack.id}.template.json`;
    writeFileSync(join(dir, templateFile), JSON.stringify(stack.template, null, 1));
    artifacts[stack.id] = {
      type: 'aws:cloudformation:stack',
      environment: stack.environment ?? 'aws://123456789012/us-east-1',
      properties: { templateFile, ...(stack.stackName ? { stackName: stack.stackName } : {}) },
      metadata: Object.fromEntries(
        Object.entries(stack.paths ?? {}).map(([id, path]) => [
          `/${stack.id}/${path}`,
          [{ type: 'aws:cdk:logicalId', data: id }],
        ]),
      ),
      displayName: stack.id,
    };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts }));
  return dir;
}

/** A template with `count` log groups: an easy way to make a big diff. */
export function logGroups(count: number, prefix = 'Logs', retention = 7): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    resources[`${prefix}${i}`] = {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: `/alva/${prefix.toLowerCase()}/${i}/${'x'.repeat(40)}`,
        RetentionInDays: retention,
      },
    };
  }
  return { Resources: resources };
}
