/**
 * Bad input, table-driven across the five actions: each case runs the committed
 * bundle against its own simulator and must exit 1 with a message that names
 * the input (`Input "<name>"`), before any mutating call: the simulator's call
 * log shows no RegisterTaskDefinition, UpdateService, RunTask, StopTask, …
 * and, for build-push, the docker client (a recording shim given as the
 * `docker` input) was never asked to log in, build, tag or push.
 *
 * Cases run with jest's limited concurrency (maxConcurrency), one simulator each.
 */
import { afterAll, describe, test } from '@jest/globals';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, type ActionRun } from '../e2e/run-action.js';
import {
  awsSecrets,
  CLUSTER,
  REGISTRY,
  SERVICES,
  Verdict,
  exitDescribe,
  errorText,
  images,
  mutatingCalls,
  secretsIn,
  simEnv,
  startStaging,
} from './harness.js';
import { OPERATOR_ROLE } from '../sim/helpers.js';

interface Case {
  action: 'deploy-services' | 'verify' | 'migrate' | 'build-push' | 'cdk-diff';
  /** The input the message must name. */
  input: string;
  /** What is wrong, for the table. */
  kind: string;
  /** Overrides of the action's valid base inputs; undefined removes one. */
  inputs: Record<string, string | undefined>;
  /** Secrets given in these inputs that the job log must never show. */
  secrets?: string[];
  /** What the message must say, beyond naming the input: the refusal is for this reason. */
  says?: RegExp;
  /** The role the action runs as (default its pipeline role: test/e2e/run-action.ts). */
  role?: string;
}

/** A case whose message must also match `says`. */
const saying = (c: Case, says: RegExp): Case => ({ ...c, says });
/**
 * A case about a resource the account does not have, run as a role allowed to
 * read any (the test's operator): the pipeline roles may read only their own
 * resources, so for another name AWS answers AccessDenied before ECS could say
 * it is missing (test/e2e/deploy-services.test.ts covers that answer).
 */
const asOperator = (c: Case): Case => ({ ...c, role: OPERATOR_ROLE });

const scratch = mkdtempSync(join(tmpdir(), 'bad-input-'));
/** A docker client that records every invocation and refuses to do anything. */
const dockerShim = join(scratch, 'docker');
writeFileSync(
  dockerShim,
  '#!/bin/sh\necho "$@" >> "$DOCKER_SHIM_LOG"\necho "docker shim: refusing $1" >&2\nexit 1\n',
);
chmodSync(dockerShim, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/** The smallest directory cdk-diff takes for a cloud assembly, and one it must refuse. */
const assembly = join(scratch, 'cdk.out');
mkdirSync(assembly);
writeFileSync(join(assembly, 'manifest.json'), '{"version":"36.0.0","artifacts":{}}\n');
const notAssembly = join(scratch, 'not-an-assembly');
mkdirSync(notAssembly);

const BASE: Record<Case['action'], Record<string, string>> = {
  'deploy-services': {
    cluster: CLUSTER,
    services: SERVICES.join('\n'),
    images: images('v2'),
    'timeout-seconds': '30',
  },
  verify: {
    cluster: CLUSTER,
    services: SERVICES.join('\n'),
    checks: 'GET /api/health 200',
    'timeout-seconds': '10',
  },
  migrate: {
    cluster: CLUSTER,
    'task-definition': 'alva-migrations',
    image: `${REGISTRY}/alva-api:v2`,
    'network-from-service': 'alva-api',
    'timeout-seconds': '30',
  },
  'build-push': {
    services: JSON.stringify([{ name: 'alva-web', context: 'examples/web' }]),
    docker: dockerShim,
  },
  'cdk-diff': { 'cloud-assembly': assembly, 'base-assembly': assembly, 'github-token': '' },
};

/** ECS ARNs of the staging account and region, or of another. */
const ACCOUNT = '123456789012';
const OTHER_ACCOUNT = '210987654321';
const ecsArn = (resource: string, region = 'us-east-1', account = ACCOUNT) =>
  `arn:aws:ecs:${region}:${account}:${resource}`;
const BASE_URL_PASSWORD = 'hunter2-base-url-password';
/** The images of alva-web and alva-api only, for cases that list those two services. */
const WEB_API_IMAGES = JSON.stringify({ web: `${REGISTRY}/alva-web:v2`, api: `${REGISTRY}/alva-api:v2` });

const deploy = (input: string, kind: string, inputs: Case['inputs']): Case => ({
  action: 'deploy-services',
  input,
  kind,
  inputs,
});
const verify = (input: string, kind: string, inputs: Case['inputs']): Case => ({
  action: 'verify',
  input,
  kind,
  inputs,
});
const migrate = (input: string, kind: string, inputs: Case['inputs']): Case => ({
  action: 'migrate',
  input,
  kind,
  inputs,
});
const cdkDiff = (input: string, kind: string, inputs: Case['inputs']): Case => ({
  action: 'cdk-diff',
  input,
  kind,
  inputs,
});
const build = (input: string, kind: string, inputs: Case['inputs']): Case => ({
  action: 'build-push',
  input,
  kind,
  inputs,
});

const CASES: Case[] = [
  // deploy-services
  deploy('cluster', 'missing', { cluster: undefined }),
  deploy('services', 'empty', { services: '' }),
  deploy('services', 'a service listed twice', { services: 'alva-web,alva-api,alva-web' }),
  asOperator(deploy('services', 'a service the cluster does not have', { services: 'alva-web,alva-nope' })),
  deploy('images', 'not JSON', { images: '{web: nginx}' }),
  deploy('images', 'a JSON array', { images: '["web"]' }),
  deploy('images', 'an empty object', { images: '{}' }),
  deploy('images', 'an image that is not a string', { images: '{"web": 42}' }),
  deploy('images', 'an image with whitespace', { images: `{"web": "${REGISTRY}/alva-web: v2"}` }),
  deploy('images', 'a container no listed service has', {
    images: `{"worker": "${REGISTRY}/alva-worker:v2"}`,
  }),
  deploy('images', 'nothing to deploy (no images, no rollback-to)', { images: undefined }),
  saying(
    deploy('services', 'one service by name and by ARN', {
      services: `alva-web\nalva-api\n${ecsArn(`service/${CLUSTER}/alva-web`)}`,
      images: WEB_API_IMAGES,
    }),
    /Input "services": lists alva-web more than once/,
  ),
  saying(
    deploy('services', 'a service ARN of another cluster', {
      services: `alva-api\n${ecsArn('service/other-cluster/alva-web')}`,
      images: WEB_API_IMAGES,
    }),
    /Input "services": .*other-cluster/,
  ),
  saying(
    deploy('cluster', 'an ARN of another region', { cluster: ecsArn(`cluster/${CLUSTER}`, 'eu-west-1') }),
    /Input "cluster": .*eu-west-1.*us-east-1/,
  ),
  saying(
    deploy('cluster', 'an ARN of another account (only AWS knows the account of the credentials)', {
      cluster: ecsArn(`cluster/${CLUSTER}`, 'us-east-1', OTHER_ACCOUNT),
    }),
    /Input "cluster": names no cluster ECS has in the account of these credentials/,
  ),
  saying(
    deploy('services', 'a service ARN of another account than the cluster ARN', {
      cluster: ecsArn(`cluster/${CLUSTER}`),
      services: `alva-api\n${ecsArn(`service/${CLUSTER}/alva-web`, 'us-east-1', OTHER_ACCOUNT)}`,
      images: WEB_API_IMAGES,
    }),
    /Input "services": .*account 210987654321/,
  ),
  saying(
    deploy('images', 'a container named constructor', {
      images: `{"constructor": "${REGISTRY}/alva-web:v2"}`,
    }),
    /Input "images": names "constructor"/,
  ),
  saying(
    deploy('images', 'a URL, not an image reference', {
      images: `{"web": "https://${REGISTRY}/alva-web:v2"}`,
    }),
    /Input "images": .*is a URL/,
  ),
  deploy('wait-for', 'an unknown condition', { 'wait-for': 'ready' }),
  deploy('timeout-seconds', 'negative', { 'timeout-seconds': '-5' }),
  deploy('timeout-seconds', 'not a number', { 'timeout-seconds': '10m' }),
  deploy('rollback-on-failure', 'not a boolean', { 'rollback-on-failure': 'maybe' }),
  deploy('force-new-deployment', 'not a boolean', { 'force-new-deployment': 'yes please' }),
  deploy('rollback-to', 'combined with images', { 'rollback-to': 'previous' }),
  deploy('rollback-to', 'neither previous nor JSON', { images: undefined, 'rollback-to': 'last' }),
  deploy('rollback-to', 'names a service not in services', {
    images: undefined,
    'rollback-to': '{"alva-nope": 1}',
  }),
  deploy('rollback-to', 'a revision that is not a number or ARN', {
    images: undefined,
    'rollback-to': '{"alva-web": -3}',
  }),
  deploy('rollback-to', 'a revision that does not exist', {
    images: undefined,
    'rollback-to': '{"alva-web": "alva-web:99"}',
  }),
  deploy('rollback-to', 'previous on services with no earlier revision', {
    images: undefined,
    'rollback-to': 'previous',
  }),
  saying(
    deploy('image', 'combined with images', { services: 'alva-web', image: `${REGISTRY}/alva-web:v2` }),
    /Input "image": cannot be combined with `images`/,
  ),
  saying(
    deploy('image', 'one image for several services', {
      images: undefined,
      image: `${REGISTRY}/alva-web:v2`,
    }),
    /Input "image": gives one image for one service, but `services` lists 4 .*Fix: .*`images`/,
  ),
  deploy('image', 'not an image reference', {
    services: 'alva-web',
    images: undefined,
    image: 'not an image!',
  }),
  deploy('container', 'without image', { container: 'web' }),
  saying(
    deploy('container', 'a container the task definition does not have', {
      services: 'alva-web',
      images: undefined,
      image: `${REGISTRY}/alva-web:v2`,
      container: 'worker',
    }),
    /Input "container": "worker" is not a container of service "alva-web": it runs alva-web:\d+, whose containers are web/,
  ),
  // verify
  verify('cluster', 'missing', { cluster: undefined }),
  verify('services', 'missing', { services: undefined }),
  verify('services', 'a service listed twice', { services: 'alva-api\nalva-api' }),
  asOperator(verify('services', 'a service the cluster does not have', { services: 'alva-web\nalva-nope' })),
  saying(
    verify('services', 'one service by name and by ARN', {
      services: `alva-web\n${ecsArn(`service/${CLUSTER}/alva-web`)}`,
    }),
    /Input "services": lists alva-web more than once/,
  ),
  saying(
    verify('cluster', 'an ARN of another region', { cluster: ecsArn(`cluster/${CLUSTER}`, 'eu-west-1') }),
    /Input "cluster": .*eu-west-1/,
  ),
  saying(
    verify('cluster', 'an ARN of another account (only AWS knows the account of the credentials)', {
      cluster: ecsArn(`cluster/${CLUSTER}`, 'us-east-1', OTHER_ACCOUNT),
    }),
    /Input "cluster": names no cluster ECS has in the account of these credentials/,
  ),
  saying(
    verify('deployments', 'task definitions of another account than the cluster ARN', {
      cluster: ecsArn(`cluster/${CLUSTER}`),
      services: 'alva-web',
      deployments: JSON.stringify({
        'alva-web': { taskDefinition: ecsArn('task-definition/alva-web:1', 'us-east-1', OTHER_ACCOUNT) },
      }),
    }),
    /Input "deployments": .*account 210987654321/,
  ),
  verify('deployments', 'not JSON', { deployments: 'deployed!' }),
  verify('deployments', 'no entry for a listed service', {
    deployments: JSON.stringify({
      'alva-web': {
        previousTaskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web:1',
        taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web:1',
      },
    }),
  }),
  verify('base-url', 'not a URL', { 'base-url': 'staging.example.com' }),
  verify('base-url', 'a URL with a query', { 'base-url': 'https://staging.example.com/?x=1' }),
  {
    ...verify('base-url', 'credentials and a query (the error must not print the password)', {
      'base-url': `https://ci:${BASE_URL_PASSWORD}@staging.example.com/?x=1`,
    }),
    secrets: [BASE_URL_PASSWORD],
    says: /Input "base-url": "https:\/\/staging\.example\.com\/\?x=1" is not/,
  },
  saying(
    verify('checks', 'HEAD with a body substring (can never pass)', { checks: 'HEAD /api/health 200 ok' }),
    /Input "checks": .*HEAD response has no body/,
  ),
  saying(
    verify('checks', 'a POST, which may change the service, without allow-methods', {
      checks: 'GET /api/health 200\nPOST /api/cache/flush 204',
    }),
    /Input "checks": line 2 .*POST may change the service.*allow-methods: POST/,
  ),
  saying(
    verify('allow-methods', 'not an HTTP method', { 'allow-methods': 'FETCH' }),
    /Input "allow-methods": "FETCH" is not an HTTP method/,
  ),
  verify('checks', 'an unknown method', { checks: 'FETCH /api/health 200' }),
  verify('checks', 'a status that is not a number', { checks: 'GET /api/health ok' }),
  verify('checks', 'a path without a leading slash', { checks: 'GET api/health 200' }),
  verify('consecutive-successes', 'zero', { 'consecutive-successes': '0' }),
  verify('timeout-seconds', 'zero', { 'timeout-seconds': '0' }),
  // migrate
  migrate('cluster', 'missing', { cluster: undefined }),
  migrate('task-definition', 'missing', { 'task-definition': undefined }),
  migrate('task-definition', 'a family that does not exist', { 'task-definition': 'alva-nope' }),
  migrate('image', 'combined with images', { images: `{"migrations": "${REGISTRY}/alva-api:v2"}` }),
  migrate('image', 'not an image reference', { image: 'not an image!' }),
  migrate('images', 'not JSON', { image: undefined, images: '{api: x}' }),
  migrate('container-images', 'without images', { 'container-images': 'migrations=api' }),
  migrate('container', 'a container the task definition does not have', { container: 'worker' }),
  migrate('command', 'a shell variable in a shell-like string', {
    command: 'pnpm db:migrate --url $DATABASE_URL',
  }),
  saying(
    migrate('command', 'unbalanced quotes', { command: 'pnpm db:migrate --name "add users' }),
    /Input "command": has a double quote .* never closed/,
  ),
  saying(
    migrate('command', 'several lines', { command: 'pnpm db:migrate\npnpm db:seed' }),
    /Input "command": spans 2 lines/,
  ),
  saying(
    migrate('cluster', 'an ARN of another region', { cluster: ecsArn(`cluster/${CLUSTER}`, 'eu-west-1') }),
    /Input "cluster": .*eu-west-1/,
  ),
  saying(
    migrate('cluster', 'an ARN of another account (only AWS knows the account of the credentials)', {
      cluster: ecsArn(`cluster/${CLUSTER}`, 'us-east-1', OTHER_ACCOUNT),
    }),
    /Input "cluster": names no cluster ECS has in the account of these credentials/,
  ),
  saying(
    migrate('task-definition', 'an ARN of another account than the cluster ARN', {
      cluster: ecsArn(`cluster/${CLUSTER}`),
      'task-definition': ecsArn('task-definition/alva-migrations:1', 'us-east-1', OTHER_ACCOUNT),
    }),
    /Input "task-definition": .*account 210987654321/,
  ),
  saying(
    migrate('images', 'an entry named constructor', {
      image: undefined,
      images: `{"constructor": "${REGISTRY}/alva-api:v2"}`,
    }),
    /Input "images": names "constructor"/,
  ),
  saying(
    migrate('container-images', 'a container mapped to "constructor", which images does not have', {
      image: undefined,
      images: `{"api": "${REGISTRY}/alva-api:v2"}`,
      'container-images': 'migrations=constructor',
    }),
    /Input "container-images": .*"constructor", which is not in images/,
  ),
  migrate('command', 'a JSON array of non-strings', { command: '["pnpm", 1]' }),
  migrate('network-from-service', 'combined with subnets', { subnets: 'subnet-0a1b2c3d4e5f60001' }),
  asOperator(
    migrate('network-from-service', 'a service the cluster does not have', {
      'network-from-service': 'alva-nope',
    }),
  ),
  migrate('subnets', 'security-groups without subnets', {
    'network-from-service': undefined,
    'security-groups': 'sg-1',
  }),
  saying(
    asOperator(
      migrate(
        'cluster',
        'a cluster ECS does not have, with explicit subnets (nothing else reads the cluster)',
        {
          cluster: 'alva-nope-cluster',
          'network-from-service': undefined,
          subnets: 'subnet-0a1b2c3d4e5f60001',
        },
      ),
    ),
    /Input "cluster": names no active cluster/,
  ),
  saying(
    migrate('subnets', 'space-separated ids (read as one id)', {
      'network-from-service': undefined,
      subnets: 'subnet-0a1b2c3d4e5f60001 subnet-0a1b2c3d4e5f60002',
    }),
    /Input "subnets": .*separated by spaces.*commas or newlines/,
  ),
  saying(
    migrate('security-groups', 'space-separated ids (read as one id)', {
      'network-from-service': undefined,
      subnets: 'subnet-0a1b2c3d4e5f60001',
      'security-groups': 'sg-0a1b2c3d sg-0e1f2a3b',
    }),
    /Input "security-groups": .*separated by spaces/,
  ),
  migrate('capacity-provider-strategy', 'combined with launch-type', {
    'launch-type': 'FARGATE',
    'capacity-provider-strategy': 'FARGATE_SPOT:1',
  }),
  migrate('launch-type', 'unknown', { 'launch-type': 'SPOT' }),
  migrate('capacity-provider-strategy', 'malformed', { 'capacity-provider-strategy': '[{"weight": 1}]' }),
  migrate('assign-public-ip', 'not ENABLED or DISABLED', {
    'network-from-service': undefined,
    subnets: 'subnet-0a1b2c3d4e5f60001',
    'assign-public-ip': 'sometimes',
  }),
  migrate('timeout-seconds', 'zero', { 'timeout-seconds': '0' }),
  migrate('started-by', 'characters RunTask rejects', { 'started-by': 'deploy by me!' }),
  // build-push
  build('services', 'missing', { services: undefined }),
  build('services', 'not a list', { services: '{"name": "web"}' }),
  build('services', 'a context that is not a directory', {
    services: '[{"name": "web", "context": "examples/nope"}]',
  }),
  build('services', 'a Dockerfile that does not exist', {
    services: '[{"name": "web", "context": "examples/web", "dockerfile": "examples/web/Nope.dockerfile"}]',
  }),
  saying(
    build('services', 'a context outside the workspace', {
      services: '[{"name": "web", "context": "../../../"}]',
    }),
    /Input "services": context "\.\.\/\.\.\/\.\.\/" of web is \/, outside the workspace/,
  ),
  saying(
    build('services', 'a Dockerfile outside the workspace', {
      services: '[{"name": "web", "context": "examples/web", "dockerfile": "../../../etc/passwd"}]',
    }),
    /Input "services": dockerfile .* outside the workspace/,
  ),
  build('password', 'username without password', { registry: '127.0.0.1:5000', username: 'ci' }),
  build('registry', 'username/password without registry', {
    username: 'ci',
    password: 'hunter2-registry-secret',
  }),
  build('registry-id', 'not a 12-digit account', { 'registry-id': '12345' }),
  build('sha', 'not a valid tag', { sha: 'feature/branch sha' }),
  build('tags', 'a tag that is not valid', { tags: 'staging,-latest' }),
  build('cache-tag', 'the same as a moving tag', { tags: 'staging', 'cache-tag': 'staging' }),
  build('platforms', 'not os/arch', { platforms: 'amd64' }),
  build('fail-on-severity', 'not a severity', { 'fail-on-severity': 'SEVERE' }),
  build('max-parallel', 'zero', { 'max-parallel': '0' }),
  build('push', 'not a boolean', { push: 'sometimes' }),
  // cdk-diff (its only mutating call is the pull-request comment: no token is given, and no AWS call may happen)
  cdkDiff('cloud-assembly', 'missing', { 'cloud-assembly': undefined }),
  cdkDiff('cloud-assembly', 'a directory with no manifest.json', { 'cloud-assembly': notAssembly }),
  cdkDiff('base-assembly', 'a directory with no manifest.json', { 'base-assembly': notAssembly }),
  cdkDiff('base-assembly', 'nothing to compare with', { 'base-assembly': undefined }),
  cdkDiff('deployed', 'combined with base-assembly', { deployed: 'true' }),
  cdkDiff('deployed', 'not a boolean', { 'base-assembly': undefined, deployed: 'perhaps' }),
  cdkDiff('stage', 'not a plain name', { stage: 'prod env' }),
  cdkDiff('allowed-destroy-types', 'not a resource type', { 'allowed-destroy-types': 'RDS instances' }),
  cdkDiff('fail-on-destructive', 'not a boolean', { 'fail-on-destructive': 'sometimes' }),
];

/** The log as the job log shows it: the runner consumes ::add-mask:: commands, never prints them. */
const jobLog = (run: ActionRun) =>
  run.log
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

describe('bad input: exit 1 naming the input, before any mutating call', () => {
  test.concurrent.each(CASES.map((c) => ({ ...c, title: `${c.action} ${c.input}: ${c.kind}` })))(
    '$title',
    async (c) => {
      const sim = await startStaging();
      const shimLog = join(scratch, `docker-${c.action}-${c.input}-${c.kind.replace(/\W+/g, '-')}.log`);
      try {
        const inputs: Record<string, string | undefined> = { ...BASE[c.action], ...c.inputs };
        const run = await runAction(c.action, {
          ...(c.role ? { role: c.role } : {}),
          inputs,
          env: { ...simEnv(sim), DOCKER_SHIM_LOG: shimLog },
          timeoutMs: 60_000,
          post: false,
        });
        const v = new Verdict(
          c.action,
          `\`${c.input}\`: ${c.kind}`,
          `exit 1; message names "${c.input}"; no mutating call`,
          'bad-input',
        );
        v.check(run.exitCode === 1, exitDescribe(run));
        const message = errorText(run, 4000);
        // The project's form is `Input "<name>": problem. Fix: …`; an error found only by an AWS
        // call may name the input in its advice instead (`services`).
        const names = message.includes(`Input "${c.input}"`) || message.includes(`\`${c.input}\``);
        v.check(names, `message: ${errorText(run, 110)}`);
        if (c.says) v.check(c.says.test(message), `message says ${String(c.says)}`);
        if (c.action === 'cdk-diff') {
          const calls = sim.calls().length;
          v.check(calls === 0, `${calls} AWS calls`);
        }
        const mutating = mutatingCalls(sim);
        v.check(
          mutating.length === 0,
          mutating.length ? `mutating calls: ${mutating.join(', ')}` : 'no mutating call',
        );
        if (c.action === 'build-push') {
          const docker = existsSync(shimLog) ? readFileSync(shimLog, 'utf8').trim().split('\n') : [];
          const acted = docker.filter((l) => /^(login|build|buildx|push|tag|image)\b/.test(l));
          v.check(
            acted.length === 0,
            acted.length ? `docker ran: ${acted.join(' | ')}` : 'docker never asked to log in, build or push',
          );
        }
        const secrets = [String(inputs.password ?? ''), ...awsSecrets(run), ...(c.secrets ?? [])];
        const leaked = secretsIn(
          [jobLog(run), run.summary, ...Object.values(run.outputs)].join('\n'),
          secrets,
        );
        v.check(
          leaked.length === 0,
          leaked.length ? `secret printed: ${leaked.length}` : 'no secret in the log',
        );
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );
});

describe('credentials in an input are used, never printed', () => {
  test('verify: the password of a base-url reaches the server as Basic auth and nowhere else', async () => {
    const sim = await startStaging();
    // The service behind base-url: /ok answers 200 only to the credentials, /broken always 503.
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      const authorized =
        req.headers.authorization === `Basic ${Buffer.from(`ci:${BASE_URL_PASSWORD}`).toString('base64')}`;
      res.statusCode = req.url === '/ok' && authorized ? 200 : req.url === '/ok' ? 401 : 503;
      res.end(req.url === '/ok' ? 'ok' : 'down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const run = await runAction('verify', {
        inputs: {
          cluster: CLUSTER,
          services: SERVICES.join('\n'),
          'base-url': `http://ci:${BASE_URL_PASSWORD}@127.0.0.1:${port}`,
          checks: 'GET /ok 200\nGET /broken 200',
          'consecutive-successes': '1',
          'timeout-seconds': '8',
        },
        env: simEnv(sim),
        timeoutMs: 60_000,
      });
      const v = new Verdict(
        'verify',
        '`base-url` with user:password@ and a failing check',
        'credentials sent as Basic auth; password in no log line, summary or output',
        'bad-input',
      );
      v.check(run.exitCode === 1, `${exitDescribe(run)} (a check fails)`);
      v.check(
        seen.some((h) => h.authorization?.startsWith('Basic ')),
        `${seen.length} requests reached the server, ${seen.filter((h) => h.authorization).length} with credentials`,
      );
      const report = JSON.parse(run.outputs.report ?? '{}') as { checks?: { check: string; ok: boolean }[] };
      v.check(
        report.checks?.find((c) => c.check === 'GET /ok 200')?.ok === true,
        'the check that needs the credentials passed',
      );
      v.check(run.outputs.report?.includes(`127.0.0.1:${port}`) === true, 'the report names the URL');
      const places = { log: jobLog(run), summary: run.summary, report: run.outputs.report ?? '' };
      const leaks = Object.entries(places)
        .filter(([, text]) => text.includes(BASE_URL_PASSWORD) || /\/\/ci[:@]/.test(text))
        .map(([where]) => where);
      v.check(
        leaks.length === 0,
        leaks.length ? `credentials printed in ${leaks.join(', ')}` : 'credentials printed nowhere',
      );
      v.finish(run);
    } finally {
      server.close();
      await sim.close();
    }
  });
});
