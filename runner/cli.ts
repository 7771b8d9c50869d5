/**
 * npm run workflow -- <file> [--event push|workflow_dispatch] [--input k=v]... [--approve] [--job ID]...
 *                    [--env k=v]... [--secret k=v]... [--var k=v]... [--sim SCENARIO [--speed N]]
 *                    [--repository OWNER/NAME] [--static-aws-credentials]
 *                    [--repo-root PATH] [--use OWNER/REPO=PATH]... [--ref refs/heads/BRANCH]
 *
 * Runs a workflow of this repository, or of the repository at --repo-root (a
 * repository that uses this suite, with --use mapping `uses: OWNER/REPO/…@ref`
 * to a local checkout), locally (see runner/README.md). With
 * --sim, it starts the AWS simulator with that scenario and points every step
 * at it; otherwise give AWS_ENDPOINT_URL yourself with --env.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderRun } from './report.js';
import { headSha, loadEnvironments, repositoryRoot } from './repo.js';
import { runWorkflow, workflowPath } from './run.js';

function pairs(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const at = value.indexOf('=');
    if (at <= 0) throw new Error(`${flag} takes name=value, got "${value}"`);
    out[value.slice(0, at)] = value.slice(at + 1);
  }
  return out;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      event: { type: 'string', default: 'push' },
      input: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      secret: { type: 'string', multiple: true },
      var: { type: 'string', multiple: true },
      approve: { type: 'boolean', default: false },
      job: { type: 'string', multiple: true },
      sim: { type: 'string' },
      speed: { type: 'string', default: '20' },
      // The repository the run is in: the OIDC subject names it, and a role's trust names the one it admits.
      repository: { type: 'string' },
      'static-aws-credentials': { type: 'boolean', default: false },
      // The repository whose workflow runs (default: this one), and local checkouts of the ones it uses.
      'repo-root': { type: 'string' },
      use: { type: 'string', multiple: true },
      // The ref the run is for (default refs/heads/staging): github.ref, the OIDC subject without an environment.
      ref: { type: 'string' },
    },
  });
  const [file] = positionals;
  if (!file)
    throw new Error(
      'usage: npm run workflow -- <workflow file> [--event E] [--input k=v] [--approve] [--sim SCENARIO]',
    );
  const env = pairs(values.env, '--env');
  let close: (() => Promise<void>) | undefined;
  if (values.sim) {
    const { startSim } = await import('../sim/index.js');
    const sim = await startSim({ scenario: resolve(values.sim), speed: Number(values.speed), port: 0 });
    env.AWS_ENDPOINT_URL = sim.url;
    close = () => sim.close();
    console.log(`simulator: ${sim.url} (${values.sim}, speed ${values.speed})`);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort('SIGINT'));
  try {
    const repoRoot = values['repo-root'] ? resolve(values['repo-root']) : repositoryRoot;
    const sha = headSha(repoRoot);
    const run = await runWorkflow(workflowPath(repoRoot, file), {
      repoRoot,
      event: values.event!,
      inputs: pairs(values.input, '--input'),
      env,
      secrets: pairs(values.secret, '--secret'),
      vars: pairs(values.var, '--var'),
      approve: values.approve,
      environments: loadEnvironments(repoRoot),
      sha,
      eventPayload: values.event === 'push' ? { before: sha, after: sha } : {},
      signal: controller.signal,
      jobs: values.job,
      ...(values.repository ? { repository: values.repository } : {}),
      ...(values.ref ? { ref: values.ref } : {}),
      staticAwsCredentials: values['static-aws-credentials'],
      uses: pairs(values.use, '--use'),
    });
    console.log(`\n${renderRun(run)}`);
    process.exitCode = run.conclusion === 'success' ? 0 : 1;
  } finally {
    await close?.();
  }
}

main().catch((err: Error) => {
  console.error(`workflow: ${err.message}`);
  process.exitCode = 2;
});
