/** The ALB data plane over real HTTP: rules, round robin, fail-open, 503, default actions. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { SimClock, SimRandom } from '../../sim/clock.js';
import { ElbEngine, type TargetGroupRecord, type TargetRecord } from '../../sim/elb-engine.js';
import { routableTargets, startAlbDataPlane, wildcardToRegExp, type AlbDataPlane } from '../../sim/alb.js';
import type { ImageBehaviour, Scenario } from '../../sim/scenario.js';

const scenario: Scenario = {
  clusters: [{ name: 'c' }],
  taskDefinitions: [],
  targetGroups: [
    { name: 'web-tg', port: 3000 },
    { name: 'api-tg', port: 8080 },
    { name: 'admin-tg', port: 80 },
    { name: 'empty-tg', port: 80 },
  ],
  loadBalancers: [
    {
      name: 'alb',
      httpPort: 0,
      listeners: [
        {
          port: 80,
          defaultTargetGroup: 'web-tg',
          rules: [
            { priority: 20, pathPatterns: ['/api/*'], targetGroup: 'api-tg' },
            {
              priority: 10,
              pathPatterns: ['/api/admin*'],
              hostHeaders: ['admin.*.example.com'],
              targetGroup: 'admin-tg',
            },
            { priority: 30, pathPatterns: ['/v?/empty'], targetGroup: 'empty-tg' },
          ],
        },
      ],
    },
    {
      name: 'fixed',
      httpPort: 0,
      listeners: [
        { port: 80, defaultFixedResponse: { statusCode: 404, body: 'no route', contentType: 'text/plain' } },
      ],
    },
  ],
};

const clock = new SimClock(10);
const elb = new ElbEngine(clock, new SimRandom(1), 'us-east-1', '123456789012', 1000, () => undefined);
let plane: AlbDataPlane;
const url = (lb: string, path: string) =>
  `http://${[...elb.loadBalancers.values()].find((l) => l.name === lb)!.dnsName}${path}`;
const tg = (name: string) => elb.targetGroupByName(name)!;

function register(
  group: TargetGroupRecord,
  ip: string,
  rev: number,
  behaviour: ImageBehaviour = {},
): TargetRecord {
  return elb.register(
    group,
    {
      id: ip,
      port: group.port,
      taskArn: `arn:aws:ecs:us-east-1:123456789012:task/c/${ip.replace(/\./g, '')}`,
      taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/${group.name.replace('-tg', '')}:${rev}`,
      image: `repo/${group.name}:${rev}`,
      serviceName: group.name.replace('-tg', ''),
      containerName: 'app',
      behaviour,
    },
    true,
  );
}

/** node:http rather than fetch: fetch does not let a caller set the Host header. */
function get(path: string, headers: Record<string, string> = {}, lb = 'alb') {
  return new Promise<{ status: number; body: string; server: string | null }>((resolve, reject) => {
    const req = request(url(lb, path), { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          server: (res.headers.server as string | undefined) ?? null,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  elb.load(scenario);
  plane = await startAlbDataPlane({ elb, toReal: (ms) => clock.toReal(ms) });
});
afterAll(async () => {
  clock.stop();
  await plane.close();
});

describe('ALB data plane', () => {
  it('reports each load balancer at its own 127.0.0.1 port', () => {
    const names = [...elb.loadBalancers.values()].map((l) => l.dnsName);
    expect(names).toHaveLength(2);
    for (const n of names) expect(n).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(new Set(names).size).toBe(2);
  });

  it('answers 503 from the ALB itself when the target group has no target', async () => {
    const res = await get('/');
    expect(res.status).toBe(503);
    expect(res.body).toContain('503 Service Temporarily Unavailable');
    expect(res.server).toBe('awselb/2.0');
  });

  it('routes by rule priority, path and host, and answers from a task naming service and revision', async () => {
    register(tg('web-tg'), '10.0.0.1', 4);
    register(tg('api-tg'), '10.0.1.1', 9);
    register(tg('admin-tg'), '10.0.2.1', 2);
    const web = JSON.parse((await get('/index.html?x=/api/y')).body);
    expect(web).toMatchObject({
      service: 'web',
      revision: 4,
      taskDefinition: expect.stringMatching(/web:4$/),
    });
    expect(web.task).toMatch(/task\/c\/10001$/);
    expect(JSON.parse((await get('/api/admin/users')).body).service).toBe('api');
    expect(
      JSON.parse((await get('/api/admin/users', { host: 'Admin.EU.example.com:8443' })).body).service,
    ).toBe('admin');
    // Path patterns are case-sensitive: /API/ is not /api/*.
    expect(JSON.parse((await get('/API/x')).body).service).toBe('web');
  });

  it('balances round robin over healthy targets only', async () => {
    const api = tg('api-tg');
    register(api, '10.0.1.2', 9);
    const initial = register(api, '10.0.1.3', 9);
    initial.state = 'initial';
    const draining = register(api, '10.0.1.4', 8);
    draining.state = 'draining';
    const tasks = [];
    for (let i = 0; i < 6; i++)
      tasks.push(
        JSON.parse((await get('/api/x')).body)
          .task.split('/')
          .pop(),
      );
    expect(tasks.slice().sort()).toEqual(['10011', '10011', '10011', '10012', '10012', '10012']);
    expect(tasks[0]).not.toBe(tasks[1]);
  });

  it('fails open to every target when only unhealthy ones are registered, and 503s when some are merely initial', async () => {
    const empty = tg('empty-tg');
    const a = register(empty, '10.0.3.1', 1, { http: { status: 500, body: 'boom' } });
    const b = register(empty, '10.0.3.2', 1, { http: { status: 502, body: 'bad' } });
    a.state = 'unhealthy';
    b.state = 'unhealthy';
    const statuses = [(await get('/v1/empty')).status, (await get('/v2/empty')).status];
    expect(statuses.sort()).toEqual([500, 502]);
    expect(routableTargets(empty)).toHaveLength(2);
    b.state = 'initial';
    expect((await get('/v1/empty')).status).toBe(503);
    // `?` is exactly one character.
    expect(JSON.parse((await get('/v10/empty')).body).service).toBe('web');
  });

  it("answers with the image's http status, body and latency", async () => {
    const web = tg('web-tg');
    web.targets.clear();
    register(web, '10.0.0.9', 5, { http: { status: 418, body: 'teapot', latencyMs: 500 } });
    const started = Date.now();
    const res = await get('/');
    expect(res).toMatchObject({ status: 418, body: 'teapot' });
    expect(res.server).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(40); // 500 simulated ms at speed 10
  });

  it('uses a fixed-response default action when no rule matches', async () => {
    expect(await get('/anything', {}, 'fixed')).toMatchObject({ status: 404, body: 'no route' });
  });

  it('turns * and ? into anchored patterns, everything else literal', () => {
    expect(wildcardToRegExp('/a.b/*').test('/a.b/c/d')).toBe(true);
    expect(wildcardToRegExp('/a.b/*').test('/aXb/c')).toBe(false);
    expect(wildcardToRegExp('/x?').test('/x')).toBe(false);
    expect(wildcardToRegExp('*.example.com', true).test('WWW.Example.com')).toBe(true);
  });
});
