import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildStaging } from '../lib/staging.js';
import { committedContext } from './synth.js';

/** Acknowledgements recorded in the construct tree: rule id -> reason, per construct path. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  let app: App;
  let synthError: unknown;
  beforeAll(() => {
    app = new App({ context: committedContext() });
    buildStaging(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
    } catch (error) {
      synthError = error;
    }
  });

  it('reports no unacknowledged finding (synthesis throws on any)', () => {
    expect(synthError).toBeUndefined();
  });

  it('gives each acknowledgement a reason', () => {
    const acknowledged = acknowledgements(app);
    expect(acknowledged.length).toBeGreaterThan(10);
    for (const { path, id, reason } of acknowledged) {
      expect({ path, id, reasonLength: reason.trim().length > 30 }).toEqual({ path, id, reasonLength: true });
    }
  });

  it('fails synthesis for a finding nobody acknowledged (the check is live)', () => {
    const control = new App();
    const stack = new Stack(control, 'Control', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['us-east-1a'], natGateways: 0 });
    new ec2.SecurityGroup(stack, 'Open', { vpc }).addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.allTcp());
    Validations.of(control).addPlugins(new AwsSolutionsChecks(control));
    expect(() => control.synth()).toThrow(/AwsSolutions-EC23/);
  });
});
