#!/usr/bin/env node
// One ncc bundle per action: actions/<name>/src/index.ts -> dist/<name>/index.js.
//   node scripts/bundle.mjs            rebuild every bundle
//   node scripts/bundle.mjs verify     rebuild one action's bundle
//   node scripts/bundle.mjs --check    fail when dist/ differs from a fresh bundle
//
// undici is left out of the bundles that do not use @actions/github: @actions/core
// imports it (through @actions/http-client) only to reach a proxy for OIDC
// tokens, which these actions never request, and it is a third of each bundle.
// The bundles then import "undici", which Node resolves to the stub committed
// at dist/node_modules/undici.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const args = process.argv.slice(2);
const check = args.includes('--check');
const wanted = args.filter((a) => !a.startsWith('--'));
const actions = readdirSync(join(root, 'actions'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'actions', d.name, 'src', 'index.ts')))
  .map((d) => d.name)
  .filter((name) => wanted.length === 0 || wanted.includes(name));
for (const name of wanted) {
  if (!actions.includes(name)) {
    console.error(`No action named "${name}" (expected actions/${name}/src/index.ts)`);
    process.exit(2);
  }
}

const UNDICI_STUB = {
  'package.json': `${JSON.stringify(
    {
      name: 'undici',
      version: '0.0.0-stub',
      description: 'Stands in for undici in the bundles that leave it out (see scripts/bundle.mjs)',
      type: 'module',
      exports: './index.js',
    },
    null,
    2,
  )}\n`,
  'index.js': [
    '// @actions/http-client imports ProxyAgent to reach an HTTPS proxy for OIDC token',
    '// requests; the actions bundled against this stub never request an OIDC token.',
    'export class ProxyAgent {',
    '  constructor() {',
    "    throw new Error('undici is not bundled with this action: OIDC tokens through a proxy are not supported');",
    '  }',
    '}',
    '',
  ].join('\n'),
};

/** Whether an action's own code uses @actions/github (which needs the real undici). */
function usesGithub(name) {
  const src = join(root, 'actions', name, 'src');
  return listFiles(src).some((f) => readFileSync(join(src, f), 'utf8').includes('@actions/github'));
}

/**
 * Licenses a bundle may carry: the suite is MIT, and whoever uses an action
 * runs its bundle, so copyleft code (e.g. the simulator's AGPL policy
 * evaluator) must never be bundled.
 */
const ALLOWED_LICENSES = new Set(['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD']);

/** The npm packages webpack put in a bundle, read from ncc's stats: name, version, license. */
function bundledPackages(statsFile) {
  const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  const dirs = new Set();
  const walk = (modules) => {
    for (const m of modules ?? []) {
      const id = `${m.name ?? ''} ${m.identifier ?? ''}`;
      // The innermost node_modules/<pkg> of each module path is the package it belongs to.
      for (const match of id.matchAll(/(?:^|[\s!|])((?:[^\s!|]*\/)?node_modules\/(?:@[^/\s]+\/)?[^/\s]+)/g)) {
        dirs.add(match[1].replace(/^\.\//, ''));
      }
      walk(m.modules);
    }
  };
  walk(stats.modules);
  for (const chunk of stats.chunks ?? []) walk(chunk.modules);
  const packages = new Map();
  for (const dir of dirs) {
    const manifest = join(root, dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    if (pkg.name === '@vercel/ncc') continue; // the bundler's own runtime helpers
    const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN');
    packages.set(`${pkg.name}@${pkg.version}`, { name: pkg.name, version: pkg.version, license });
  }
  return [...packages.values()];
}

/** Every file of one bundle, by path relative to dist/<name>/, and the packages in it. */
function build(name) {
  const entry = join(root, 'actions', name, 'src', 'index.ts');
  const out = mkdtempSync(join(tmpdir(), `bundle-${name}-`));
  const stats = join(mkdtempSync(join(tmpdir(), `bundle-stats-${name}-`)), 'stats.json');
  try {
    // The CLI, not the API: it is what detects "type": "module" and emits an ESM bundle.
    execFileSync(
      process.execPath,
      [
        require.resolve('@vercel/ncc/dist/ncc/cli.js'),
        'build',
        entry,
        '-o',
        out,
        '--minify',
        '--quiet',
        '--target',
        'es2023',
        '--no-source-map-register',
        // The license text of every bundled package ships beside the bundle.
        '--license',
        'licenses.txt',
        '--stats-out',
        stats,
        ...(usesGithub(name) ? [] : ['--external', 'undici']),
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
    );
    const files = new Map(listFiles(out).map((f) => [f, readFileSync(join(out, f))]));
    if (!files.has('package.json')) files.set('package.json', Buffer.from('{"type":"module"}\n'));
    return { files, packages: bundledPackages(stats) };
  } catch (err) {
    const stderr = String(err.stderr ?? err.message);
    console.error(
      `ncc failed for actions/${name}:\n${stderr
        .split('\n')
        .filter((l) => l.length < 400)
        .slice(-30)
        .join('\n')}`,
    );
    process.exit(1);
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(dirname(stats), { recursive: true, force: true });
  }
}

function listFiles(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name), base) : [relative(base, join(dir, d.name))],
  );
}

let stale = [];
const stubDir = join(root, 'dist', 'node_modules', 'undici');
for (const [file, content] of Object.entries(UNDICI_STUB)) {
  const path = join(stubDir, file);
  if (check) {
    if (!existsSync(path) || readFileSync(path, 'utf8') !== content)
      stale.push(`dist/node_modules/undici/${file}`);
  } else {
    mkdirSync(stubDir, { recursive: true });
    writeFileSync(path, content);
  }
}
/** package@version -> the package and the actions that bundle it. */
const thirdParty = new Map();
for (const name of actions) {
  const started = Date.now();
  const { files, packages } = build(name);
  for (const pkg of packages) {
    const key = `${pkg.name}@${pkg.version}`;
    if (!thirdParty.has(key)) thirdParty.set(key, { ...pkg, actions: [] });
    thirdParty.get(key).actions.push(name);
  }
  const out = join(root, 'dist', name);
  if (check) {
    const present = listFiles(out);
    for (const file of new Set([...present, ...files.keys()])) {
      const want = files.get(file);
      const path = join(out, file);
      const have = existsSync(path) ? readFileSync(path) : undefined;
      if (want === undefined || have === undefined || Buffer.compare(want, have) !== 0) {
        stale.push(`dist/${name}/${file}`);
      }
    }
  } else {
    rmSync(out, { recursive: true, force: true });
    for (const [file, content] of files) {
      mkdirSync(dirname(join(out, file)), { recursive: true });
      writeFileSync(join(out, file), content);
    }
    const size = files.get('index.js').length;
    console.log(`dist/${name}/index.js  ${(size / 1024).toFixed(0)} KiB  (${Date.now() - started} ms)`);
  }
}
// One list of what the bundles carry and under which license, checked like dist/.
const forbidden = [...thirdParty.values()].filter((p) => !ALLOWED_LICENSES.has(p.license));
if (forbidden.length) {
  console.error(
    `Bundles carry packages whose license is not allowed (${[...ALLOWED_LICENSES].join(', ')}):\n  ${forbidden
      .map((p) => `${p.name}@${p.version} (${p.license}) in ${p.actions.join(', ')}`)
      .join('\n  ')}`,
  );
  process.exit(1);
}
if (wanted.length === 0) {
  const rows = [...thirdParty.values()]
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version))
    .map((p) => `| ${p.name} | ${p.version} | ${p.license} | ${p.actions.join(', ')} |`);
  const list = [
    '# Third-party software in the action bundles',
    '',
    "Written by `npm run bundle` (scripts/bundle.mjs) from the bundler's own record of what each",
    '`dist/<action>/index.js` contains; `npm run check-dist` fails when it is stale or when a bundled',
    `package's license is not one of ${[...ALLOWED_LICENSES].join(', ')}. Each license's full text ships`,
    'beside its bundle in `dist/<action>/licenses.txt`. Development tools (jest, the CDK, the simulator',
    'and its policy evaluator) are not bundled and are not listed.',
    '',
    '| Package | Version | License | Bundled in |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  const listPath = join(root, 'THIRD-PARTY-LICENSES.md');
  if (check) {
    if (!existsSync(listPath) || readFileSync(listPath, 'utf8') !== list)
      stale.push('THIRD-PARTY-LICENSES.md');
  } else {
    writeFileSync(listPath, list);
  }
}
if (check) {
  // A bundle whose action was deleted is stale too.
  if (wanted.length === 0 && existsSync(join(root, 'dist'))) {
    for (const d of readdirSync(join(root, 'dist'))) {
      if (d !== 'node_modules' && !actions.includes(d))
        stale.push(`dist/${d}/ (no actions/${d}/src/index.ts)`);
    }
  }
  if (stale.length) {
    console.error(`dist/ is stale; run \`npm run bundle\` and commit the result:\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`dist/ matches a fresh bundle (${actions.length} actions).`);
}
