/**
 * `npm run sim -- --scenario FILE [--port N] [--speed S]`: serves the
 * simulator until interrupted and prints its URL.
 */
import { parseArgs } from 'node:util';
import { startSim } from './index.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'sim/scenarios/staging.json' },
    port: { type: 'string', default: '4566' },
    speed: { type: 'string', default: '1' },
  },
});

const speed = Number(values.speed);
const port = Number(values.port);
if (!(speed > 0) || !Number.isInteger(port) || port < 0) {
  console.error('usage: npm run sim -- --scenario FILE [--port N] [--speed S]  (speed > 0, port >= 0)');
  process.exit(2);
}

const sim = await startSim({ scenario: values.scenario!, speed, port });
console.log(`AWS simulator listening on ${sim.url} (scenario ${values.scenario}, speed ${speed}x)`);
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
