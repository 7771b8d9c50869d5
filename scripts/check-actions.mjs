#!/usr/bin/env node
// Checks the metadata of every action, so the suite reads as one product on
// the Marketplace and in the runner's logs (part of `npm run lint`):
// - actions/<name>/action.yml: name "ECS Ship <what>", one author, branding
//   GitHub accepts, runs.using node24 with a main bundle that exists, every
//   input and output described;
// - the root action.yml (the one the Marketplace lists) is deploy-services:
//   the same inputs and outputs as actions/deploy-services/action.yml, run
//   from the same bundle.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const AUTHOR = 'ecs-ship';
const NAME_PREFIX = 'ECS Ship ';
const ROOT_ACTION = 'deploy-services';
// https://docs.github.com/en/actions/sharing-automations/creating-actions/metadata-syntax-for-github-actions#brandingcolor
const COLORS = new Set(['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark']);

const problems = [];
const read = (file) => parse(readFileSync(file, 'utf8'));

function checkAction(file, expectedMain) {
  const where = file.slice(root.length + 1);
  const action = read(file);
  if (typeof action.name !== 'string' || !action.name.startsWith(NAME_PREFIX))
    problems.push(`${where}: name must start with "${NAME_PREFIX}" (got ${JSON.stringify(action.name)})`);
  if (action.author !== AUTHOR) problems.push(`${where}: author must be "${AUTHOR}"`);
  if (typeof action.description !== 'string' || action.description.length < 20)
    problems.push(`${where}: description missing or too short`);
  if (!action.branding?.icon) problems.push(`${where}: branding.icon missing`);
  if (!COLORS.has(action.branding?.color))
    problems.push(`${where}: branding.color must be one of ${[...COLORS].join(', ')}`);
  if (action.runs?.using !== 'node24') problems.push(`${where}: runs.using must be node24`);
  const main = action.runs?.main;
  if (main !== expectedMain) problems.push(`${where}: runs.main must be ${expectedMain} (got ${main})`);
  else if (!existsSync(resolve(dirname(file), main)))
    problems.push(`${where}: runs.main ${main} does not exist`);
  for (const kind of ['inputs', 'outputs']) {
    for (const [key, spec] of Object.entries(action[kind] ?? {})) {
      if (!spec?.description) problems.push(`${where}: ${kind}.${key} has no description`);
    }
  }
  return action;
}

const names = readdirSync(join(root, 'actions'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'actions', d.name, 'action.yml')))
  .map((d) => d.name);
const actions = new Map(
  names.map((name) => [
    name,
    checkAction(join(root, 'actions', name, 'action.yml'), `../../dist/${name}/index.js`),
  ]),
);
const seen = new Map();
for (const [name, action] of actions) {
  if (seen.has(action.name))
    problems.push(`actions/${name} and actions/${seen.get(action.name)} share the name "${action.name}"`);
  seen.set(action.name, name);
}

const rootFile = join(root, 'action.yml');
if (!existsSync(rootFile)) {
  problems.push(
    `action.yml (the root action the Marketplace lists) is missing: it must mirror actions/${ROOT_ACTION}`,
  );
} else {
  const rootAction = checkAction(rootFile, `dist/${ROOT_ACTION}/index.js`);
  const mirrored = actions.get(ROOT_ACTION);
  for (const key of ['inputs', 'outputs', 'description']) {
    if (JSON.stringify(rootAction[key]) !== JSON.stringify(mirrored?.[key]))
      problems.push(
        `action.yml: ${key} differ from actions/${ROOT_ACTION}/action.yml (the root action mirrors it)`,
      );
  }
}

if (problems.length) {
  console.error(`Action metadata:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`Action metadata consistent (${actions.size} actions and the root action.yml).`);
