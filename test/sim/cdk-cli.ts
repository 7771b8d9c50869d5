/**
 * The project's own CDK CLI against the simulator, for the tests that drive it
 * (test/sim/cdk-*.test.ts): a fresh account with one administrator role,
 * sessions, the call log, `cdk deploy` of a synthesized app, and edited copies
 * of infra/ (an app change) or of its assembly (a template CDK would refuse to
 * synthesize, as someone's hand-edited or escape-hatched template).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { synthesize } from '../../sim/assembly/index.js';
import type { CfnTemplate } from '../../sim/assembly/manifest.js';
import { emptyAccount, withCdkBootstrap } from '../../sim/cfn/bootstrap.js';
import { startSim, type Sim } from '../../sim/index.js';
import type { Scenario } from '../../sim/scenario.js';

export const ACCOUNT = '123456789012';
export const INFRA = join(process.cwd(), 'infra');
const CDK = join(process.cwd(), 'node_modules', '.bin', 'cdk');
const EDITS = join(process.cwd(), '.tmp', 'cdk-edits');
/** The simulated clock runs this much faster than real time (the CLI polls in real time). */
export const SPEED = 10;

export const STACKS = [
  'AlvaStagingNetwork',
  'AlvaStagingSecrets',
  'AlvaStagingRegistry',
  'AlvaStagingDatabase',
  'AlvaStagingCache',
  'AlvaStagingAlb',
  'AlvaStagingEcs',
  'AlvaStagingMonitoring',
  'AlvaStagingCiIdentity',
];

/** An empty account with one administrator role, `admin`, as someone runs `cdk deploy` with. */
export const freshAccount: Scenario = emptyAccount(ACCOUNT);

/** A running simulator: in this process (startSim) or one started by `npm run sim`. */
export interface SimEndpoint {
  url: string;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface Call {
  seq: number;
  service: string;
  operation: string;
  status: number;
  params: Record<string, unknown>;
  gate?: { principal?: string };
}

/** A session of one of the account's roles, as an administrator hands it out. */
export async function sessionFor(sim: SimEndpoint, roleName: string): Promise<Credentials> {
  const res = await fetch(`${sim.url}/_sim/sessions`, { method: 'POST', body: JSON.stringify({ roleName }) });
  const { accessKeyId, secretAccessKey, sessionToken } = (await res.json()) as Credentials;
  return { accessKeyId, secretAccessKey, sessionToken };
}

export const adminCredentials = (sim: SimEndpoint) => sessionFor(sim, 'admin');

export async function calls(sim: SimEndpoint, since = 0): Promise<Call[]> {
  return (await (await fetch(`${sim.url}/_sim/calls?since=${since}`)).json()) as Call[];
}

export const clientConfig = (sim: SimEndpoint, credentials: Credentials) => ({
  endpoint: sim.url,
  region: 'us-east-1',
  credentials,
});

/**
 * infra/ synthesized with `context` (cached by sources and context), as the cloud assembly the CLI deploys
 * with `--app`: each run is the deploy alone, the CLI publishes and deploys an assembly directory exactly as
 * one it synthesized.
 */
export function infraAssembly(context: Record<string, string> = {}, appDir = INFRA): string {
  return synthesize({ appDir, context });
}

/** The project's CDK CLI with `args`, from infra/, the simulator as every service's endpoint: exit code and output. */
export function cdk(
  sim: SimEndpoint,
  credentials: Credentials,
  args: string[],
): Promise<{ code: number; output: string }> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ENDPOINT_URL: sim.url,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
  return new Promise((resolve) => {
    execFile(
      CDK,
      [...args, '--no-notices'],
      { cwd: INFRA, env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** `cdk deploy` (default `--all`) of the assembly `app` with `--require-approval never`. */
export function cdkDeploy(
  sim: SimEndpoint,
  credentials: Credentials,
  app: string,
  stacks: string[] = ['--all'],
): Promise<{ code: number; output: string }> {
  return cdk(sim, credentials, ['deploy', ...stacks, '--app', app, '--require-approval', 'never']);
}

/** The simulator with infra/ deployed, the administrator's session, and CloudFormation and ELBv2 clients as that session. */
export interface DeployedApp {
  sim: Sim;
  credentials: Credentials;
  cfn: CloudFormationClient;
  elb: ElasticLoadBalancingV2Client;
}

/**
 * For the describe block it is called in: before its tests, the simulator on a fresh bootstrapped
 * account with infra/ deployed by `cdk deploy --all` (where every update test starts: without the app
 * deployed none of them means anything, so a failed first deploy fails them all, with the CLI's output);
 * after them, the clients destroyed and the simulator closed. Filled in by its beforeAll.
 */
export function withAppDeployed(): DeployedApp {
  const app = {} as Partial<DeployedApp>;
  beforeAll(async () => {
    app.sim = await startSim({ scenario: withCdkBootstrap(freshAccount), port: 0, speed: SPEED });
    app.credentials = await adminCredentials(app.sim);
    app.cfn = new CloudFormationClient(clientConfig(app.sim, app.credentials));
    app.elb = new ElasticLoadBalancingV2Client(clientConfig(app.sim, app.credentials));
    const first = await cdkDeploy(app.sim, app.credentials, infraAssembly());
    if (first.code !== 0) throw new Error(`the first cdk deploy failed:\n${outcome(first).tail}`);
  }, 900_000);
  afterAll(async () => {
    app.cfn?.destroy();
    app.elb?.destroy();
    await app.sim?.close();
  });
  return app as DeployedApp;
}

/** `{code: 0, tail: ''}` for a successful run, else the output's tail (what a failed expectation shows). */
export const outcome = (run: { code: number; output: string }) => ({
  code: run.code,
  tail: run.code === 0 ? '' : run.output.slice(-3000),
});

/**
 * A copy of infra/ (its sources, not its tests) with each `from` in `file` replaced by `to`: an app change
 * as a developer makes it. Every `from` must occur, so a test cannot silently deploy the unchanged app.
 */
export function editedInfra(name: string, edits: { file: string; from: string; to: string }[]): string {
  const dir = join(EDITS, `app-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(INFRA)) {
    if (['test', 'cdk.out', 'node_modules'].includes(entry)) continue;
    cpSync(join(INFRA, entry), join(dir, entry), { recursive: true });
  }
  for (const edit of edits) {
    const path = join(dir, edit.file);
    const text = readFileSync(path, 'utf8');
    if (!text.includes(edit.from)) throw new Error(`${edit.file} has no ${JSON.stringify(edit.from)}`);
    writeFileSync(path, text.split(edit.from).join(edit.to));
  }
  return dir;
}

/**
 * A copy of the assembly `app` whose `stack` template is `edit`'s result. The template is a file asset the
 * CLI publishes under its hash: the copy gets the new content's hash in the manifests, so the CLI uploads
 * and deploys the edited template rather than reusing the published one.
 */
export function editedAssembly(
  app: string,
  name: string,
  stack: string,
  edit: (template: CfnTemplate) => void,
): string {
  const dir = join(EDITS, `assembly-${name}`);
  const scratch = `${dir}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  cpSync(app, scratch, { recursive: true });
  const templateFile = join(scratch, `${stack}.template.json`);
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
  edit(template);
  const body = JSON.stringify(template, null, 1);
  writeFileSync(templateFile, body);
  const assets = join(scratch, `${stack}.assets.json`);
  const manifest = JSON.parse(readFileSync(assets, 'utf8')) as {
    files: Record<string, { source: { path: string } }>;
  };
  const oldHash = Object.entries(manifest.files).find(
    ([, f]) => f.source.path === `${stack}.template.json`,
  )?.[0];
  if (!oldHash) throw new Error(`${stack}.assets.json publishes no template`);
  const newHash = createHash('sha256').update(body).digest('hex');
  for (const file of [assets, join(scratch, 'manifest.json')]) {
    writeFileSync(file, readFileSync(file, 'utf8').split(oldHash).join(newHash));
  }
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) throw new Error(`${dir} could not be replaced`);
  renameSync(scratch, dir);
  return dir;
}
