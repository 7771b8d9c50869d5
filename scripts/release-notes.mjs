#!/usr/bin/env node
// Prints the CHANGELOG.md section of the version a release tag names, after
// checking that the tag is the version `npx changeset version` wrote:
//   node scripts/release-notes.mjs v1.2.3 > notes.md
// Exits 1 naming what is wrong (a tag that is not vX.Y.Z, a package.json at
// another version, no CHANGELOG section), so a mistyped tag releases nothing.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fail = (message) => {
  console.error(`::error title=Release tag::${message}`);
  process.exit(1);
};

const tag = process.argv[2] ?? '';
const version = /^v(\d+\.\d+\.\d+)$/.exec(tag)?.[1];
if (!version) fail(`"${tag}" is not a release tag: push a tag vX.Y.Z`);
const packageVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
if (packageVersion !== version)
  fail(
    `tag ${tag} but package.json is at ${packageVersion}: run \`npx changeset version\`, commit, and tag that commit v${packageVersion}`,
  );
const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8').split('\n');
const start = changelog.findIndex((line) => line.trim() === `## ${version}`);
if (start < 0) fail(`CHANGELOG.md has no "## ${version}" section: run \`npx changeset version\``);
const end = changelog.findIndex((line, i) => i > start && line.startsWith('## '));
const notes = changelog
  .slice(start + 1, end < 0 ? undefined : end)
  .join('\n')
  .trim();
if (!notes) fail(`CHANGELOG.md's "## ${version}" section is empty`);
process.stdout.write(`${notes}\n`);
