/** The ALB data plane inside the running simulator: DescribeLoadBalancers leads a client to it. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { startSim, type Sim } from '../../sim/index.js';
import { clientConfig, withOperator } from './helpers.js';

let sim: Sim;
let elb: ElasticLoadBalancingV2Client;

beforeAll(async () => {
  sim = await startSim({ scenario: withOperator(), speed: 20 });
  elb = new ElasticLoadBalancingV2Client(clientConfig(sim));
});
afterAll(async () => {
  elb?.destroy();
  await sim?.close();
});

async function dnsName(): Promise<string> {
  const { LoadBalancers = [] } = await elb.send(new DescribeLoadBalancersCommand({}));
  expect(LoadBalancers).toHaveLength(1);
  return LoadBalancers[0]!.DNSName!;
}

describe('staging ALB', () => {
  it('answers at the DNS name DescribeLoadBalancers reports, routing each path prefix to its service', async () => {
    const host = await dnsName();
    expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
    const serviceAt = async (path: string) =>
      ((await (await fetch(`http://${host}${path}`)).json()) as { service: string }).service;
    expect(await serviceAt('/api/health')).toBe('alva-api');
    expect(await serviceAt('/auth/login')).toBe('alva-auth');
    expect(await serviceAt('/admin/health')).toBe('alva-admin');
    // No rule matches: the listener's default action forwards to web.
    expect(await serviceAt('/pricing')).toBe('alva-web');
    const body = (await (await fetch(`http://${host}/api/x`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      revision: 1,
      taskDefinition: expect.stringMatching(/task-definition\/alva-api:1$/),
    });
    expect(body.task).toMatch(/:task\/alva-staging-cluster\//);
  });

  it('serves the reloaded world after a reset, at the DNS name reported then', async () => {
    await sim.reset();
    const host = await dnsName();
    const body = (await (await fetch(`http://${host}/auth/health`)).json()) as {
      service: string;
      revision: number;
    };
    expect(body).toMatchObject({ service: 'alva-auth', revision: 1 });
  });
});
