#!/usr/bin/env node
/**
 * node scripts/sim-session.mjs ROLE: in a GitHub Actions step, gives the job
 * the credentials of ROLE from the simulator at AWS_ENDPOINT_URL (its control
 * API, POST /_sim/sessions: a role session as an administrator hands it out,
 * with no OIDC trust evaluated), the way configure-aws-credentials exports a
 * role's session: the secret and token masked, the three variables appended
 * to GITHUB_ENV for the steps that follow.
 *
 * ci.yml's self-test job runs each action against the staging world, whose IAM
 * is enforced: each action runs as the role that runs it in the pipeline.
 */
import { appendFileSync } from 'node:fs';

const [role] = process.argv.slice(2);
const endpoint = process.env.AWS_ENDPOINT_URL;
const envFile = process.env.GITHUB_ENV;
if (!role || !endpoint || !envFile) {
  console.error('usage: AWS_ENDPOINT_URL=… GITHUB_ENV=… node scripts/sim-session.mjs ROLE');
  process.exit(2);
}
const response = await fetch(new URL('/_sim/sessions', endpoint), {
  method: 'POST',
  body: JSON.stringify({ roleName: role, sessionName: 'ci-self-test' }),
});
const answer = await response.json();
if (!response.ok) {
  console.error(`::error::the simulator gave no session for ${role}: ${answer.error ?? response.status}`);
  process.exit(1);
}
console.log(`::add-mask::${answer.secretAccessKey}`);
console.log(`::add-mask::${answer.sessionToken}`);
appendFileSync(
  envFile,
  `AWS_ACCESS_KEY_ID=${answer.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${answer.secretAccessKey}\nAWS_SESSION_TOKEN=${answer.sessionToken}\n`,
);
console.log(`Credentials of ${answer.arn} (until ${answer.expiration}, simulated time)`);
