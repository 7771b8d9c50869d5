/**
 * IAM on every call: the simulator authorizes each call against the calling
 * session's role policies, with the action, resource ARN and condition keys
 * AWS uses, and refuses in AWS's words. Real SDK clients throughout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { FilterLogEventsCommand, CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startSim, type Sim, type SimCredentials } from '../../sim/index.js';
import type { PolicyStatement } from '../../sim/iam/model.js';
import {
  CLUSTER,
  CLUSTER_ARN,
  deployStatements,
  EXECUTION_ROLE,
  githubToken,
  iamSpec,
  ROLE,
  ROLE_ARN,
  scenarioWith,
  TASK_ROLE,
} from './iam-fixture.js';
import { refusal } from './helpers.js';

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

let sim: Sim;
const clients: { destroy(): void }[] = [];

const config = (credentials: Creds) => ({
  endpoint: sim.url,
  region: 'us-east-1',
  maxAttempts: 1,
  credentials,
});
function ecsAs(credentials: Creds): ECSClient {
  const client = new ECSClient(config(credentials));
  clients.push(client);
  return client;
}
function elbAs(credentials: Creds): ElasticLoadBalancingV2Client {
  const client = new ElasticLoadBalancingV2Client(config(credentials));
  clients.push(client);
  return client;
}

/** A session of the deploy role, the way a workflow job gets one: AssumeRoleWithWebIdentity with its token. */
async function deploySession(): Promise<Creds> {
  const sts = new STSClient(config({ accessKeyId: 'unused', secretAccessKey: 'unused' }));
  clients.push(sts);
  const out = await sts.send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: ROLE_ARN,
      RoleSessionName: 'deploy',
      WebIdentityToken: githubToken(),
    }),
  );
  return {
    accessKeyId: out.Credentials!.AccessKeyId!,
    secretAccessKey: out.Credentials!.SecretAccessKey!,
    sessionToken: out.Credentials!.SessionToken!,
  };
}

const PRINCIPAL = `arn:aws:sts::123456789012:assumed-role/${ROLE}/deploy`;
const without = (sid: string) => deployStatements().filter((s) => s.Sid !== sid);

const migrationsDefinition = {
  family: 'alva-migrations',
  networkMode: 'awsvpc' as const,
  requiresCompatibilities: ['FARGATE' as const],
  cpu: '256',
  memory: '512',
  executionRoleArn: EXECUTION_ROLE,
  taskRoleArn: TASK_ROLE,
  containerDefinitions: [
    {
      name: 'migrations',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva-api:abc',
      essential: true,
    },
  ],
};
const network = { awsvpcConfiguration: { subnets: ['subnet-aaaa1111'], securityGroups: ['sg-1'] } };
/** RunTask of the migrations task definition on Fargate in `cluster`. */
const runMigrations = (cluster: string) =>
  new RunTaskCommand({
    cluster,
    taskDefinition: 'alva-migrations',
    launchType: 'FARGATE',
    networkConfiguration: network,
  });

beforeAll(async () => {
  sim = await startSim({ scenario: scenarioWith(iamSpec()), speed: 20, port: 0 });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

afterAll(async () => {
  await sim.close();
});

describe('authentication (mode enforce)', () => {
  beforeAll(() => sim.load(scenarioWith(iamSpec())));

  it("refuses credentials that are no session, in each protocol's words", async () => {
    const stranger = { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' };
    const ecs = await refusal(
      ecsAs(stranger).send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] })),
    );
    expect(ecs).toEqual({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      status: 400,
    });
    const elb = await refusal(elbAs(stranger).send(new DescribeTargetGroupsCommand({})));
    expect(elb).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
    expect(sim.calls().filter((c) => c.status === 200)).toEqual([]);
  });

  it('refuses a session key presented with another session token', async () => {
    const creds = await deploySession();
    const err = await refusal(
      ecsAs({ ...creds, sessionToken: 'forged' }).send(
        new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }),
      ),
    );
    expect(err.name).toBe('UnrecognizedClientException');
  });
});

describe('authorization against the role policies', () => {
  afterAll(() => sim.load(scenarioWith(iamSpec())));

  it('serves an allowed call and logs who made it, the action and the resource', async () => {
    await sim.load(scenarioWith(iamSpec()));
    const ecs = ecsAs(await deploySession());
    const out = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }));
    expect(out.services?.[0]?.serviceName).toBe('alva-api');
    const call = sim.calls().findLast((c) => c.operation === 'DescribeServices');
    expect(call?.gate).toEqual({
      principal: PRINCIPAL,
      action: 'ecs:DescribeServices',
      resource: `arn:aws:ecs:us-east-1:123456789012:service/${CLUSTER}/alva-api`,
      decision: 'Allowed',
    });
  });

  it('refuses UpdateService once its statement is gone, naming principal, action and resource', async () => {
    const statements = deployStatements().map((s) =>
      s.Sid === 'Services' ? { ...s, Action: ['ecs:DescribeServices', 'ecs:ListServiceDeployments'] } : s,
    );
    await sim.load(scenarioWith(iamSpec(statements)));
    const ecs = ecsAs(await deploySession());
    const since = sim.events().at(-1)?.seq ?? 0;
    const err = await refusal(
      ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', desiredCount: 2 })),
    );
    const resource = `arn:aws:ecs:us-east-1:123456789012:service/${CLUSTER}/alva-api`;
    expect(err).toEqual({
      name: 'AccessDeniedException',
      message: `User: ${PRINCIPAL} is not authorized to perform: ecs:UpdateService on resource: ${resource} because no identity-based policy allows the ecs:UpdateService action`,
      status: 400,
    });
    // Refused before ECS saw it: no deployment, the service untouched.
    expect(
      sim.events(since).filter((e) => e.kind !== 'iam.denied' && e.kind.startsWith('deployment')),
    ).toEqual([]);
    expect(sim.events(since).find((e) => e.kind === 'iam.denied')?.detail).toEqual({
      principal: PRINCIPAL,
      action: 'ecs:UpdateService',
      resource,
      decision: 'ImplicitlyDenied',
    });
    const described = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }),
    );
    expect(described.services?.[0]?.desiredCount).toBe(1);
  });

  it('refuses iam:PassRole for a task role the policy does not list, and passes the listed ones', async () => {
    await sim.load(scenarioWith(iamSpec()));
    const ecs = ecsAs(await deploySession());
    const admin = 'arn:aws:iam::123456789012:role/admin';
    const err = await refusal(
      ecs.send(new RegisterTaskDefinitionCommand({ ...migrationsDefinition, taskRoleArn: admin })),
    );
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(
      `User: ${PRINCIPAL} is not authorized to perform: iam:PassRole on resource: ${admin} because no identity-based policy allows the iam:PassRole action`,
    );
    const ok = await ecs.send(new RegisterTaskDefinitionCommand(migrationsDefinition));
    expect(ok.taskDefinition?.taskRoleArn).toBe(TASK_ROLE);
    const call = sim.calls().findLast((c) => c.operation === 'RegisterTaskDefinition');
    expect(call?.gate).toMatchObject({
      action: 'ecs:RegisterTaskDefinition',
      resource: 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-migrations:*',
      also: [`iam:PassRole ${TASK_ROLE}`, `iam:PassRole ${EXECUTION_ROLE}`],
    });
  });

  it('needs ecs:TagResource with ecs:CreateAction when RegisterTaskDefinition carries tags', async () => {
    await sim.load(scenarioWith(iamSpec(without('TagNewRevisions'))));
    const ecs = ecsAs(await deploySession());
    const tags = [{ key: 'run', value: '42' }];
    const err = await refusal(ecs.send(new RegisterTaskDefinitionCommand({ ...migrationsDefinition, tags })));
    expect(err.message).toMatch(
      /is not authorized to perform: ecs:TagResource on resource: arn:aws:ecs:us-east-1:123456789012:task-definition\/alva-migrations:\d+ because/,
    );
    // Untagged, the same registration needs no tagging permission.
    await ecs.send(new RegisterTaskDefinitionCommand(migrationsDefinition));
    await sim.load(scenarioWith(iamSpec()));
    const tagged = ecsAs(await deploySession());
    const out = await tagged.send(new RegisterTaskDefinitionCommand({ ...migrationsDefinition, tags }));
    expect(out.tags).toEqual(tags);
  });

  it('honours the ecs:cluster condition on RunTask and ListTasks', async () => {
    await sim.load(scenarioWith(iamSpec()));
    const ecs = ecsAs(await deploySession());
    const elsewhere = await refusal(ecs.send(runMigrations('other-cluster')));
    expect(elsewhere.message).toContain(
      'not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/alva-migrations:',
    );
    const listElsewhere = await refusal(ecs.send(new ListTasksCommand({ cluster: 'other-cluster' })));
    expect(listElsewhere.message).toContain('ecs:ListTasks on resource: * because');
    const run = await ecs.send(runMigrations(CLUSTER));
    expect(run.tasks?.[0]?.clusterArn).toBe(CLUSTER_ARN);
    const call = sim.calls().findLast((c) => c.operation === 'RunTask');
    expect(call?.gate).toMatchObject({ principal: PRINCIPAL, action: 'ecs:RunTask', decision: 'Allowed' });
    const listed = await ecs.send(new ListTasksCommand({ cluster: CLUSTER }));
    expect(listed.taskArns).toContain(run.tasks?.[0]?.taskArn);
    // A service's task definition is not the migrations family: RunTask on it is refused.
    const other = await refusal(
      ecs.send(
        new RunTaskCommand({
          cluster: CLUSTER,
          taskDefinition: 'alva-api',
          launchType: 'FARGATE',
          networkConfiguration: network,
        }),
      ),
    );
    expect(other.name).toBe('AccessDeniedException');
  });

  it("RunTask passes the task definition's roles: without iam:PassRole on them it is refused", async () => {
    await sim.load(scenarioWith(iamSpec(without('PassTaskRoles'))));
    const ecs = ecsAs(await deploySession());
    const since = sim.events().at(-1)?.seq ?? 0;
    const err = await refusal(ecs.send(runMigrations(CLUSTER)));
    expect(err.message).toBe(
      `User: ${PRINCIPAL} is not authorized to perform: iam:PassRole on resource: ${TASK_ROLE} because no identity-based policy allows the iam:PassRole action`,
    );
    expect(sim.events(since).filter((e) => e.kind.startsWith('task.'))).toEqual([]);
  });

  it('lets an explicit Deny win over an Allow', async () => {
    const deny: PolicyStatement = { Effect: 'Deny', Action: 'ecs:StopTask', Resource: '*' };
    await sim.load(scenarioWith(iamSpec([...deployStatements(), deny])));
    const ecs = ecsAs(await deploySession());
    const run = await ecs.send(runMigrations(CLUSTER));
    const taskArn = run.tasks![0].taskArn!;
    const err = await refusal(ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: taskArn })));
    expect(err.message).toBe(
      `User: ${PRINCIPAL} is not authorized to perform: ecs:StopTask on resource: ${taskArn} with an explicit deny in an identity-based policy`,
    );
  });

  it('refuses a Query-protocol call with AccessDenied (ELBv2) and a Logs call on another log group', async () => {
    await sim.load(scenarioWith(iamSpec(without('LoadBalancerReads'))));
    const creds = await deploySession();
    const elb = await refusal(elbAs(creds).send(new DescribeTargetGroupsCommand({})));
    expect(elb).toEqual({
      name: 'AccessDenied',
      message: `User: ${PRINCIPAL} is not authorized to perform: elasticloadbalancing:DescribeTargetGroups on resource: * because no identity-based policy allows the elasticloadbalancing:DescribeTargetGroups action`,
      status: 403,
    });
    const logs = new CloudWatchLogsClient(config(creds));
    clients.push(logs);
    const err = await refusal(
      logs.send(new FilterLogEventsCommand({ logGroupName: '/ecs/alva-staging/api' })),
    );
    expect(err.message).toContain(
      'logs:FilterLogEvents on resource: arn:aws:logs:us-east-1:123456789012:log-group:/ecs/alva-staging/api:log-stream: because',
    );
    await logs
      .send(new FilterLogEventsCommand({ logGroupName: '/ecs/alva-staging/migrations' }))
      .catch((e: Error) => {
        // Allowed by IAM; the group may simply not exist yet.
        expect(e.name).toBe('ResourceNotFoundException');
      });
  });

  it('refuses an expired session with ExpiredTokenException', async () => {
    const fast = await startSim({ scenario: scenarioWith(iamSpec()), speed: 5000, port: 0 });
    try {
      const creds: SimCredentials = fast.session({ role: ROLE, durationSeconds: 900 });
      const ecs = new ECSClient({
        endpoint: fast.url,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: creds,
      });
      clients.push(ecs);
      await new Promise((resolve) => setTimeout(resolve, fast.toReal(901_000)));
      const err = await refusal(
        ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] })),
      );
      expect(err.name).toBe('ExpiredTokenException');
    } finally {
      await fast.close();
    }
  });
});

describe('modes and the control endpoint', () => {
  it('permissive: credentials that are no session are served, sessions are still authorized', async () => {
    await sim.load(scenarioWith(iamSpec(without('Services'), 'permissive')));
    const stranger = ecsAs({ accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' });
    await stranger.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', desiredCount: 1 }));
    expect(sim.calls().findLast((c) => c.operation === 'UpdateService')?.gate).toMatchObject({
      principal: 'AKIDSIMULATOR',
      decision: 'not-authorized',
    });
    const session = ecsAs(await deploySession());
    const err = await refusal(
      session.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', desiredCount: 1 })),
    );
    expect(err.name).toBe('AccessDeniedException');
  });

  it('POST /_sim/sessions hands out credentials for a role, bypassing trust, marked admin in the call log', async () => {
    await sim.load(scenarioWith(iamSpec()));
    const unknown = await fetch(`${sim.url}/_sim/sessions`, {
      method: 'POST',
      body: JSON.stringify({ roleName: 'nope' }),
    });
    expect(unknown.status).toBe(400);
    const response = await fetch(`${sim.url}/_sim/sessions`, {
      method: 'POST',
      body: JSON.stringify({ roleName: ROLE }),
    });
    const creds = (await response.json()) as SimCredentials & { expiration: string };
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    expect(Date.parse(creds.expiration)).toBeGreaterThan(sim.now());
    const { accessKeyId, secretAccessKey, sessionToken } = creds;
    const sts = new STSClient(config({ accessKeyId, secretAccessKey, sessionToken }));
    clients.push(sts);
    const me = await sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(`arn:aws:sts::123456789012:assumed-role/${ROLE}/sim-admin`);
    await ecsAs({ accessKeyId, secretAccessKey, sessionToken }).send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-web'] }),
    );
    expect(sim.calls().findLast((c) => c.operation === 'DescribeServices')?.gate).toMatchObject({
      via: 'admin',
    });
    expect(sim.events().findLast((e) => e.kind === 'sts.session')?.detail).toMatchObject({
      source: 'admin',
      role: ROLE_ARN,
    });
  });

  it('without iam in the scenario, every call is served as before and nothing is logged for IAM', async () => {
    await sim.load(scenarioWith(undefined));
    const ecs = ecsAs({ accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' });
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', desiredCount: 1 }));
    expect(sim.calls().findLast((c) => c.operation === 'UpdateService')?.gate).toBeUndefined();
    expect(() => sim.session(ROLE)).toThrow(/no iam/);
  });
});
