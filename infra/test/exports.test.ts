/**
 * README's "Add the domain later": deploying with `-c domain=...` over an
 * environment deployed without one must be an update. CloudFormation updates
 * a producing stack before the stacks that import from it, and refuses to
 * delete or change an export that a stack still imports. So every export the
 * domain-less app imports must still be exported, with the same value, once
 * the domain is added.
 */
import { describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { buildStaging } from '../lib/staging.js';
import { committedContext } from './synth.js';

interface CrossStack {
  /** Export name (as JSON) -> the exporting stack and the exported value (as JSON). */
  exports: Map<string, { stack: string; value: string }>;
  /** Export name (as JSON) -> the stacks importing it. */
  imports: Map<string, Set<string>>;
}

function crossStack(context: Record<string, unknown>): CrossStack {
  const app = new App({ context: { ...committedContext(), ...context } });
  buildStaging(app);
  const assembly = app.synth();
  const exports: CrossStack['exports'] = new Map();
  const imports: CrossStack['imports'] = new Map();
  for (const stack of assembly.stacks) {
    const template = stack.template as {
      Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
      Resources?: unknown;
    };
    for (const output of Object.values(template.Outputs ?? {})) {
      if (output.Export)
        exports.set(JSON.stringify(output.Export.Name), {
          stack: stack.stackName,
          value: JSON.stringify(output.Value),
        });
    }
    const walk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      if ('Fn::ImportValue' in node) {
        const name = JSON.stringify((node as Record<string, unknown>)['Fn::ImportValue']);
        imports.set(name, (imports.get(name) ?? new Set()).add(stack.stackName));
      }
      for (const child of Object.values(node)) walk(child);
    };
    walk(template.Resources);
  }
  return { exports, imports };
}

describe('adding a domain later', () => {
  it('keeps every export the domain-less app imports, with the same value', () => {
    const before = crossStack({});
    const after = crossStack({ domain: 'alva.app' });
    expect(before.imports.size).toBeGreaterThan(10);
    for (const [name, importers] of before.imports) {
      const exported = before.exports.get(name);
      expect({ name, exportedBefore: exported !== undefined }).toEqual({ name, exportedBefore: true });
      expect({ name, importers: [...importers], after: after.exports.get(name) }).toEqual({
        name,
        importers: [...importers],
        after: exported,
      });
    }
  });

  it('is checked where it used to fail: the ECS stack imports the ALB DNS name only without a domain', () => {
    const dnsName = (c: CrossStack) => [...c.imports.keys()].filter((name) => /Alb\w*DNSName/.test(name));
    expect(dnsName(crossStack({}))).toHaveLength(1);
    expect(dnsName(crossStack({ domain: 'alva.app' }))).toEqual([]);
  });
});
