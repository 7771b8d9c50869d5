/**
 * A monorepo release through the deploy recipe, against the simulator and
 * judged from its call log: services whose images did not change are left
 * alone (no RegisterTaskDefinition, no UpdateService), and services that share
 * a task-definition family share one new revision.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { readFileSync } from 'node:fs';
import type { Scenario } from '../../../sim/scenario.js';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import {
  executeDeploy,
  oneServiceImages,
  planImageDeploy,
  type DeployOutcome,
} from '../../../lib/ecs/deploy.js';
import { InputError } from '../../../lib/errors.js';
import { memoryLog } from '../../../lib/log.js';
import { CLUSTER, STAGING, startWithClients, stopClients, type Clients } from '../../sim/helpers.js';

const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
/** A second service on alva-web's family (a worker of the same image), without a load balancer. */
const WORKER = 'alva-web-worker';

function withWorker(): Scenario {
  const scenario = JSON.parse(readFileSync(STAGING, 'utf8')) as Scenario;
  const web = scenario.services!.find((s) => s.name === 'alva-web')!;
  const { loadBalancers: _lb, serviceRegistries: _sr, healthCheckGracePeriodSeconds: _grace, ...rest } = web;
  scenario.services!.push({ ...rest, name: WORKER });
  // alva-admin's task definition with a sidecar: `image` must name its container.
  const admin = scenario.taskDefinitions!.find((t) => t.family === 'alva-admin')!;
  admin.containerDefinitions = [
    ...admin.containerDefinitions!,
    { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2', essential: false },
  ];
  return scenario;
}

let c: Clients;
let clients: EcsClients;
beforeAll(async () => {
  c = await startWithClients(withWorker());
  clients = {
    ecs: c.ecs,
    elbv2: () => Promise.resolve(c.elb),
    logs: () => Promise.resolve(c.logs),
  };
});
afterAll(() => stopClients(c));
beforeEach(() => c.sim.reset());

async function deploy(services: string[], images: Record<string, string>): Promise<DeployOutcome> {
  const plan = await planImageDeploy(clients, CLUSTER, services, images);
  return executeDeploy(clients, plan, {
    waitFor: 'steady',
    timeoutMs: 600_000,
    rollbackOnFailure: true,
    forceNewDeployment: false,
    log: memoryLog(),
    minIntervalMs: 200,
    maxIntervalMs: 500,
  });
}

/** The calls that changed something since `since`: operation and the service or family they were for. */
function mutations(since: number): string[] {
  return c.sim
    .calls(since)
    .filter((call) => call.mutating)
    .map((call) => {
      const p = call.params as { service?: string; family?: string; taskDefinition?: string };
      return `${call.operation} ${p.service ?? p.family}${p.taskDefinition ? ` ${p.taskDefinition}` : ''}`;
    });
}

const lastSeq = () => c.sim.calls().at(-1)?.seq ?? 0;

async function runs(service: string): Promise<string> {
  const reply = await c.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [service] }));
  return reply.services![0]!.taskDefinition!;
}

describe('skip unchanged services', () => {
  it('a digest-pinned reference to the image a service runs changes nothing, however it is tagged; a new digest under the same tag deploys', async () => {
    const first = await deploy(['alva-web', 'alva-api'], {
      web: `${registry}/alva-web@${digest('a')}`,
      api: `${registry}/alva-api:v1@${digest('b')}`,
    });
    expect(first.ok).toBe(true);
    const webRevision = await runs('alva-web');
    const since = lastSeq();
    const second = await deploy(['alva-web', 'alva-api'], {
      // build-push's reuse: the same digest (here with its SHA tag as well).
      web: `${registry}/alva-web:sha-2@${digest('a')}`,
      // The tag v1 now names another image.
      api: `${registry}/alva-api:v1@${digest('c')}`,
    });
    expect(second.ok).toBe(true);
    const byService = Object.fromEntries(second.services.map((s) => [s.service, s]));
    expect(byService['alva-web']).toMatchObject({ status: 'unchanged', registered: false, images: [] });
    expect(byService['alva-api']).toMatchObject({ status: 'deployed', registered: true });
    expect(mutations(since)).toEqual([
      'RegisterTaskDefinition alva-api',
      `UpdateService alva-api ${byService['alva-api']!.taskDefinition}`,
    ]);
    expect(await runs('alva-web')).toBe(webRevision);
  });

  it('the same references again: no RegisterTaskDefinition and no UpdateService for any service', async () => {
    const images = { web: `${registry}/alva-web@${digest('d')}`, api: `${registry}/alva-api@${digest('e')}` };
    expect((await deploy(['alva-web', 'alva-api', WORKER], images)).ok).toBe(true);
    const since = lastSeq();
    const again = await deploy(['alva-web', 'alva-api', WORKER], images);
    expect(again.ok).toBe(true);
    expect(again.services.map((s) => s.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(mutations(since)).toEqual([]);
  });
});

describe('services that share a task-definition family', () => {
  it('get one new revision, which both UpdateService calls use', async () => {
    const since = lastSeq();
    const report = await deploy(['alva-web', WORKER], { web: `${registry}/alva-web@${digest('f')}` });
    expect(report.ok).toBe(true);
    const [web, worker] = report.services;
    expect(web!.taskDefinition).toBe(worker!.taskDefinition);
    expect(web!.taskDefinition).toMatch(/task-definition\/alva-web:2$/);
    expect(mutations(since).sort()).toEqual([
      'RegisterTaskDefinition alva-web',
      `UpdateService alva-web ${web!.taskDefinition}`,
      `UpdateService ${WORKER} ${web!.taskDefinition}`,
    ]);
    expect(await runs(WORKER)).toBe(await runs('alva-web'));
  });

  it('running different revisions of the family, they are refused before any change, naming both and the family', async () => {
    expect((await deploy([WORKER], { web: `${registry}/alva-web@${digest('1')}` })).ok).toBe(true);
    const since = lastSeq();
    const error = await deploy(['alva-web', WORKER], { web: `${registry}/alva-web@${digest('2')}` }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /alva-web and alva-web-worker share the task-definition family alva-web but run different revisions \(alva-web runs alva-web:1, alva-web-worker runs alva-web:2\)/,
    );
    expect(mutations(since)).toEqual([]);
  });
});

describe('image + container: one image for one service', () => {
  it("without container, the task definition's only container gets the image: one new revision, one UpdateService", async () => {
    const image = `${registry}/alva-web@${digest('9')}`;
    const since = lastSeq();
    const images = await oneServiceImages(clients, CLUSTER, 'alva-web', { reference: image });
    expect({ ...images }).toEqual({ web: image });
    const report = await deploy(['alva-web'], images);
    expect(report.ok).toBe(true);
    const calls = c.sim.calls(since).filter((call) => call.mutating);
    expect(calls.map((call) => call.operation)).toEqual(['RegisterTaskDefinition', 'UpdateService']);
    const registered = calls[0]!.params as { containerDefinitions: { name: string; image: string }[] };
    expect(registered.containerDefinitions.map((d) => [d.name, d.image])).toEqual([['web', image]]);
  });

  it('a task definition of several containers needs container; a container it lacks is refused, listing them', async () => {
    const since = lastSeq();
    const image = { reference: `${registry}/alva-admin@${digest('8')}` };
    await expect(oneServiceImages(clients, CLUSTER, 'alva-admin', image)).rejects.toThrow(
      /Input "container": is required: service "alva-admin" runs alva-admin:1, whose containers are admin, log-router\. Fix: name the container that gets `image`/,
    );
    await expect(
      oneServiceImages(clients, CLUSTER, 'alva-admin', { ...image, container: 'web' }),
    ).rejects.toThrow(/Input "container": "web" is not a container of service "alva-admin"/);
    const named = await oneServiceImages(clients, CLUSTER, 'alva-admin', { ...image, container: 'admin' });
    expect({ ...named }).toEqual({ admin: image.reference });
    expect(mutations(since)).toEqual([]);
  });
});
