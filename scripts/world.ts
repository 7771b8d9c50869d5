/**
 * `npm run world`: writes sim/scenarios/staging.json, the simulator's staging
 * world, from what infra/ synthesizes now plus sim/scenarios/staging.overlay.json.
 * `npm run world -- --check` fails when the committed file differs (the test
 * test/sim/assembly-world.test.ts checks the same). Never edit the JSON by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { INFRA_DIR, scenarioFromApp, STAGING_OVERLAY, STAGING_SCENARIO } from '../sim/assembly/index.js';
import { repositoryRoot } from '../sim/assembly/synth.js';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const { scenario, unmodelled } = scenarioFromApp({ appDir: INFRA_DIR, overlay: STAGING_OVERLAY });
const prettier = (await resolveConfig(STAGING_SCENARIO)) ?? {};
const text = await format(JSON.stringify(scenario), { ...prettier, filepath: STAGING_SCENARIO });
const file = relative(repositoryRoot, STAGING_SCENARIO);

if (values.check) {
  const committed = JSON.parse(readFileSync(STAGING_SCENARIO, 'utf8')) as unknown;
  if (JSON.stringify(committed) !== JSON.stringify(scenario)) {
    console.error(`${file} differs from what infra/ synthesizes now: run npm run world and commit it.`);
    process.exit(1);
  }
  console.log(`${file} is what infra/ synthesizes.`);
} else {
  writeFileSync(STAGING_SCENARIO, text);
  const types = [...new Set(unmodelled.map((u) => u.type))].sort();
  console.log(
    `wrote ${file}: ${scenario.services?.length ?? 0} services, ${unmodelled.length} resources not modelled (${types.join(', ')})`,
  );
}
