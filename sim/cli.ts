/**
 * `npm run sim -- --scenario FILE [--port N] [--speed S]`, or
 * `npm run sim -- --assembly CDK_OUT_DIR --overlay FILE`: serves the
 * simulator until interrupted and prints its URL (and, for an assembly, the
 * resources it does not model).
 */
import { parseArgs } from 'node:util';
import { startSim } from './index.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    assembly: { type: 'string' },
    overlay: { type: 'string' },
    port: { type: 'string', default: '4566' },
    speed: { type: 'string', default: '1' },
  },
});

const speed = Number(values.speed);
const port = Number(values.port);
if (!(speed > 0) || !Number.isInteger(port) || port < 0 || (values.scenario && values.assembly)) {
  console.error(
    'usage: npm run sim -- (--scenario FILE | --assembly CDK_OUT_DIR [--overlay FILE]) [--port N] [--speed S]  (speed > 0, port >= 0)',
  );
  process.exit(2);
}

const world = values.assembly
  ? { assembly: values.assembly, overlay: values.overlay }
  : { scenario: values.scenario ?? 'sim/scenarios/staging.json' };
const sim = await startSim({ ...world, speed, port });
const source = values.assembly ? `assembly ${values.assembly}` : `scenario ${world.scenario}`;
console.log(`AWS simulator listening on ${sim.url} (${source}, speed ${speed}x)`);
const unmodelled = sim.world.scenario.unmodelled ?? [];
if (unmodelled.length) {
  console.log(`  not modelled (${unmodelled.length}):`);
  for (const r of unmodelled) console.log(`    ${r.stack}/${r.logicalId} ${r.type}: ${r.reason}`);
}
console.log(
  `  export AWS_ENDPOINT_URL=${sim.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`,
);
console.log(`  control API: ${sim.url}/_sim/calls  /_sim/events  /_sim/state`);
for (const lb of sim.world.elb.loadBalancers.values())
  console.log(`  load balancer ${lb.name}: http://${lb.dnsName}`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
