/**
 * `npm run sim -- --scenario FILE [--port N] [--speed S]`, or
 * `npm run sim -- --assembly CDK_OUT_DIR --overlay FILE`, or
 * `npm run sim -- --empty`: serves the simulator until interrupted and prints
 * its URL (and, for an assembly, the resources it does not model).
 * `--bootstrap` adds what `cdk bootstrap` leaves in the account (sim/cfn/bootstrap.ts),
 * so `cdk deploy` / `cdk diff` run against it; `--empty` is an account with
 * nothing but an administrator role `admin`, where `cdk deploy --all` starts.
 */
import { parseArgs } from 'node:util';
import { emptyAccount, withCdkBootstrap } from './cfn/bootstrap.js';
import { scenarioOf, startSim } from './index.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    assembly: { type: 'string' },
    overlay: { type: 'string' },
    port: { type: 'string', default: '4566' },
    speed: { type: 'string', default: '1' },
    empty: { type: 'boolean', default: false },
    bootstrap: { type: 'boolean', default: false },
  },
});

const speed = Number(values.speed);
const port = Number(values.port);
const worlds = [values.scenario, values.assembly, values.empty || undefined].filter((w) => w !== undefined);
if (!(speed > 0) || !Number.isInteger(port) || port < 0 || worlds.length > 1) {
  console.error(
    'usage: npm run sim -- (--scenario FILE | --assembly CDK_OUT_DIR [--overlay FILE] | --empty) [--bootstrap] [--port N] [--speed S]  (speed > 0, port >= 0)',
  );
  process.exit(2);
}

const loaded = values.empty
  ? emptyAccount()
  : scenarioOf(
      values.assembly
        ? { assembly: values.assembly, overlay: values.overlay }
        : { scenario: values.scenario ?? 'sim/scenarios/staging.json' },
    );
const sim = await startSim({ scenario: values.bootstrap ? withCdkBootstrap(loaded) : loaded, speed, port });
const source = values.empty
  ? 'an empty account'
  : values.assembly
    ? `assembly ${values.assembly}`
    : `scenario ${values.scenario ?? 'sim/scenarios/staging.json'}`;
console.log(
  `AWS simulator listening on ${sim.url} (${source}${values.bootstrap ? ', CDK-bootstrapped' : ''}, speed ${speed}x)`,
);
const unmodelled = sim.world.scenario.unmodelled ?? [];
if (unmodelled.length) {
  console.log(`  not modelled (${unmodelled.length}):`);
  for (const r of unmodelled) console.log(`    ${r.stack}/${r.logicalId} ${r.type}: ${r.reason}`);
}
console.log(
  `  export AWS_ENDPOINT_URL=${sim.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`,
);
console.log(`  control API: ${sim.url}/_sim/calls  /_sim/events  /_sim/state`);
if (values.bootstrap) {
  // Who may run `cdk deploy`: any role of the account allowed sts:AssumeRole on the bootstrap roles.
  const roles = new Set((loaded.iam?.roles ?? []).map((r) => r.name));
  const role = ['admin', 'alva-staging-github-deploy'].find((name) => roles.has(name));
  console.log(
    role
      ? `  cdk deploy: a session of ${role} (curl -s -XPOST ${sim.url}/_sim/sessions -d '{"roleName":"${role}"}'),`
      : '  cdk deploy: a session of a role that may sts:AssumeRole the cdk-hnb659fds-* roles (POST /_sim/sessions),',
  );
  console.log(
    `    then in infra/: AWS_ENDPOINT_URL=${sim.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_SESSION_TOKEN=… npx cdk deploy --all --require-approval never`,
  );
}
for (const lb of sim.world.elb.loadBalancers.values())
  console.log(`  load balancer ${lb.name}: http://${lb.dnsName}`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
