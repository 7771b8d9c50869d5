/**
 * Start-up benchmark of every committed bundle, dist/<name>/index.js, under
 * Node 24, written to bench/results/startup.md. Each bundle is started as the
 * runner starts its action's main step, by the action host (runner/action-host.ts).
 *
 * Per action, over RUNS runs each (interleaved across actions, so the noise of
 * a shared machine spreads evenly):
 * - bundle size: dist/<name>/index.js, and every file of dist/<name>/ (lazy chunks);
 * - time to fail on a missing input: spawn() to process exit, with no INPUT_*;
 * - time to first AWS call: spawn() to the moment a local HTTP server on
 *   127.0.0.1 receives the first request (its `request` event: headers read).
 *   The server answers every call at once with AccessDenied (JSON protocol:
 *   400 `{"__type":"AccessDeniedException"}`; Query protocol: the XML
 *   ErrorResponse), AWS_MAX_ATTEMPTS=1, so the process then exits: spawn() to
 *   exit is reported too;
 * - peak memory: the maximum resident set size of that same first-call run,
 *   measured by GNU time (`/usr/bin/time -f %M`) in separate runs so that the
 *   wrapper does not touch the timings.
 * `node -e 0` is measured in the same run as the floor.
 *
 *   npx tsx bench/startup.ts [--runs 15] [--out bench/results/startup.md] [--dist DIR] [--levers]
 *
 * --levers also measures start-up levers, on scratch builds in a temp dir
 * (the committed dist/ is never touched):
 * - Node's module compile cache (NODE_COMPILE_CACHE, what
 *   module.enableCompileCache(dir) does), cold and warm, on the committed bundle;
 * - what dominates each bundle (esbuild metafile of the same entry, by package);
 * - the same entry bundled by esbuild (ESM, minified), and by esbuild with
 *   undici replaced by a stub (@actions/core pulls it in through
 *   @actions/http-client for OIDC only). esbuild is tsx's own dependency; when
 *   it cannot be loaded these rows are skipped.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  OFFLINE_AWS_ENV,
  hostProcess,
  node24,
  repositoryAction,
  runNodeAction,
  standaloneEnv,
  type NodeActionRun,
  type ProcessResult,
} from '../runner/action-host.js';

const root = resolve(import.meta.dirname, '..');

/** The issue's reference points, measured on this machine under Node 24. */
export const TARGETS = {
  bundleBytes: 1024 * 1024,
  firstCallMs: 64,
  officialFirstCallMs: 127,
  officialBundle: '2.6 MB',
  officialNodeE0Ms: 18,
};

/**
 * The minimal valid inputs that make each action's first network call an AWS
 * call. Actions not listed get only the missing-input and size measurements.
 */
export const FIRST_CALL_INPUTS: Record<string, { inputs: Record<string, string>; firstCall: string }> = {
  'deploy-services': {
    inputs: {
      cluster: 'alva-staging-cluster',
      services: 'alva-web',
      images: '{"web":"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:abc"}',
    },
    firstCall: 'ECS DescribeServices',
  },
  verify: {
    inputs: { cluster: 'alva-staging-cluster', services: 'alva-web' },
    firstCall: 'ECS DescribeServices',
  },
  migrate: {
    inputs: { cluster: 'alva-staging-cluster', 'task-definition': 'alva-migrations' },
    firstCall: 'ECS DescribeTaskDefinition',
  },
  'build-push': {
    inputs: {
      services: '[{"name":"web","context":"examples/web"}]',
      docker: '/usr/bin/docker',
    },
    firstCall: 'ECR GetAuthorizationToken (after docker detection)',
  },
  'cdk-diff': {
    inputs: { 'cloud-assembly': 'infra/cdk.out', deployed: 'true', 'github-token': '' },
    firstCall: 'CloudFormation GetTemplate',
  },
};

export interface AccessDeniedServer {
  url: string;
  /** Resolves with performance.now() of the next request's arrival and what it was. */
  nextRequest(): Promise<{ at: number; call: string }>;
  close(): Promise<void>;
}

/** Answers every AWS call at once with AccessDenied, in the protocol of the call. */
export async function startAccessDeniedServer(): Promise<AccessDeniedServer> {
  let waiting: ((r: { at: number; call: string }) => void) | undefined;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const at = performance.now();
    const target = req.headers['x-amz-target'];
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      let call: string;
      if (typeof target === 'string') {
        call = target;
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'bench' });
        res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'bench: access denied' }));
      } else {
        call = new URLSearchParams(body).get('Action') ?? `${req.method} ${req.url}`;
        res.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': 'bench' });
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>' +
            '<Message>bench: access denied</Message></Error><RequestId>bench</RequestId></ErrorResponse>',
        );
      }
      const resolveWaiting = waiting;
      waiting = undefined;
      resolveWaiting?.({ at, call });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    nextRequest: () => new Promise((r) => (waiting = r)),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The environment of every run: a standalone job with offline AWS credentials, one attempt per call. */
function baseEnv(dir: string): Record<string, string> {
  return {
    ...standaloneEnv({ workspace: root, runnerTemp: dir }),
    HOME: dir,
    ...OFFLINE_AWS_ENV,
    AWS_MAX_ATTEMPTS: '1',
  };
}

/** `node <args>` (`node -e 0`, the floor), timed as the host times every process. */
function nodeRun(args: string[], env: Record<string, string>): Promise<ProcessResult> {
  return hostProcess(node24(), args, { env, cwd: root, killAfterMs: 30_000 });
}

/** One run of a bundle as the runner starts its action's main step (no post step). */
function actionRun(
  bundle: BundleSpec,
  env: Record<string, string>,
  inputs: Record<string, string> = {},
  wrapper?: string[],
): Promise<NodeActionRun> {
  return runNodeAction(repositoryAction(bundle.name), {
    entry: bundle.entry,
    inputs,
    env,
    cwd: root,
    killAfterMs: 30_000,
    post: false,
    wrapper,
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Measurement extends BundleSpec {
  indexBytes: number;
  totalBytes: number;
  missingInputMs: number[];
  missingInputMessage: string;
  firstCallMs: number[];
  firstCallExitMs: number[];
  firstCall?: string;
  firstCallError?: string;
  peakRssKb: number[];
}

function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, d) => sum + (d.isDirectory() ? dirBytes(join(dir, d.name)) : statSync(join(dir, d.name)).size),
    0,
  );
}

/** One first-call run: resolves the spawn->first request and spawn->exit times. */
async function firstCallRun(
  bundle: BundleSpec,
  env: Record<string, string>,
  inputs: Record<string, string>,
  server: AccessDeniedServer,
): Promise<{ firstMs?: number; exitMs: number; call?: string; output: string }> {
  let first: { at: number; call: string } | undefined;
  const request = server.nextRequest().then((r) => (first = r));
  const run = await actionRun(bundle, { ...env, AWS_ENDPOINT_URL: server.url }, inputs);
  await Promise.race([request, new Promise((r) => setTimeout(r, 50))]);
  return {
    ...(first ? { firstMs: first.at - run.spawnedAt, call: first.call } : {}),
    exitMs: run.durationMs,
    output: run.log,
  };
}

const gnuTime = '/usr/bin/time';

/** Peak RSS (kB) of one run, from GNU time's %M. */
async function peakRssRun(
  bundle: BundleSpec,
  env: Record<string, string>,
  inputs: Record<string, string>,
  dir: string,
): Promise<number | undefined> {
  if (!existsSync(gnuTime)) return undefined;
  const out = join(dir, 'rss');
  await actionRun(bundle, env, inputs, [gnuTime, '-f', '%M', '-o', out]);
  const kb = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
  return Number.isFinite(kb) ? kb : undefined;
}

export function listBundles(dist: string): { name: string; entry: string }[] {
  if (!existsSync(dist)) return [];
  return readdirSync(dist, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dist, d.name, 'index.js')))
    .map((d) => ({ name: d.name, entry: join(dist, d.name, 'index.js') }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One thing to measure: a bundle, optionally as a lever variant (first-call timing only). */
export interface BundleSpec {
  name: string;
  entry: string;
  /** Lever label; variants get only the first-call measurement. */
  variant?: string;
  /** Extra environment of run i (e.g. a compile cache dir). */
  env?: (run: number) => Record<string, string>;
}

export async function measure(
  bundles: BundleSpec[],
  runs: number,
): Promise<{ results: Measurement[]; nodeE0Ms: number[] }> {
  const server = await startAccessDeniedServer();
  const scratch = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  const env = baseEnv(scratch);
  const results: Measurement[] = bundles.map((b) => ({
    ...b,
    indexBytes: statSync(b.entry).size,
    totalBytes: dirBytes(dirname(b.entry)),
    missingInputMs: [],
    missingInputMessage: '',
    firstCallMs: [],
    firstCallExitMs: [],
    peakRssKb: [],
  }));
  const nodeE0Ms: number[] = [];
  try {
    // One warm-up round (file cache), not recorded.
    await nodeRun(['-e', '0'], env);
    for (const r of results) {
      const spec = FIRST_CALL_INPUTS[r.name];
      // A variant's warm-up also fills a warm compile cache.
      if (r.variant && spec) await firstCallRun(r, { ...env, ...r.env?.(-1) }, spec.inputs, server);
      else await actionRun(r, env);
    }
    for (let i = 0; i < runs; i++) {
      nodeE0Ms.push((await nodeRun(['-e', '0'], env)).durationMs);
      for (const r of results) {
        if (!r.variant) {
          // Missing input: no INPUT_* at all.
          const missing = await actionRun(r, env);
          r.missingInputMs.push(missing.durationMs);
          if (!r.missingInputMessage) {
            r.missingInputMessage =
              missing.log
                .split('\n')
                .find((l) => l.startsWith('::error'))
                ?.replace(/^::error[^:]*::/, '')
                .slice(0, 120) ?? `(exit ${missing.exitCode}, no ::error line)`;
          }
        }
        const spec = FIRST_CALL_INPUTS[r.name];
        if (!spec) continue;
        const callEnv = { ...env, ...r.env?.(i) };
        const first = await firstCallRun(r, callEnv, spec.inputs, server);
        if (first.firstMs === undefined) {
          r.firstCallError ??= first.output
            .split('\n')
            .filter((l) => l.startsWith('::error'))
            .join(' ')
            .slice(0, 200);
        } else {
          r.firstCallMs.push(first.firstMs);
          r.firstCallExitMs.push(first.exitMs);
          r.firstCall ??= first.call;
        }
        if (r.variant) continue;
        const rss = await peakRssRun(r, { ...callEnv, AWS_ENDPOINT_URL: server.url }, spec.inputs, scratch);
        if (rss !== undefined) r.peakRssKb.push(rss);
      }
    }
  } finally {
    await server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  return { results, nodeE0Ms };
}

/**
 * Lever variants of each bundle, measured interleaved with the committed ones:
 * Node's module compile cache (NODE_COMPILE_CACHE, what module.enableCompileCache(dir)
 * does) cold (a fresh dir every run) and warm (a dir a previous run filled).
 */
function compileCacheVariants(bundles: BundleSpec[], dir: string): BundleSpec[] {
  return bundles.flatMap((b) => [
    {
      ...b,
      variant: 'compile cache, cold',
      env: (i: number) => ({ NODE_COMPILE_CACHE: join(dir, `cold-${b.name}-${i}`) }),
    },
    {
      ...b,
      variant: 'compile cache, warm',
      env: () => ({ NODE_COMPILE_CACHE: join(dir, `warm-${b.name}`) }),
    },
  ]);
}

/** The same entries bundled by esbuild, plain and with undici stubbed; plus each bundle's composition. */
async function esbuildVariants(
  names: string[],
  dir: string,
): Promise<{ variants: BundleSpec[]; composition: Record<string, [string, number][]> } | undefined> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  const stub = join(dir, 'undici-stub.mjs');
  writeFileSync(stub, "export class ProxyAgent { constructor() { throw new Error('undici left out'); } }\n");
  const composition: Record<string, [string, number][]> = {};
  const labels = ['esbuild', 'esbuild, undici stubbed'];
  const variants: BundleSpec[] = [];
  for (const name of names) {
    const source = join(root, 'actions', name, 'src', 'index.ts');
    if (!existsSync(source)) continue;
    for (const [i, label] of labels.entries()) {
      const outdir = join(dir, `v${i}`, name);
      mkdirSync(outdir, { recursive: true });
      writeFileSync(join(outdir, 'package.json'), '{"type":"module"}\n');
      // An action that really uses undici (cdk-diff: @actions/github's fetch) cannot have it stubbed.
      const result = await esbuild
        .build({
          entryPoints: [source],
          outfile: join(outdir, 'index.js'),
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node24',
          minify: true,
          metafile: i === 0,
          logLevel: 'silent',
          // CommonJS dependencies call require(); give the ESM bundle one.
          banner: {
            js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
          },
          ...(i === 1 ? { alias: { undici: stub } } : {}),
        })
        .catch(() => undefined);
      if (!result) continue;
      variants.push({ name, entry: join(outdir, 'index.js'), variant: label });
      if (result.metafile) {
        const byPackage = new Map<string, number>();
        for (const output of Object.values(result.metafile.outputs)) {
          for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
            const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? '(own code: actions/, lib/)';
            byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
          }
        }
        composition[name] = [...byPackage.entries()].sort((a, b) => b[1] - a[1]);
      }
    }
  }
  return { variants, composition };
}

interface LeverResults {
  labels: string[];
  variants: Measurement[];
  composition: Record<string, [string, number][]>;
}

const fmtMs = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(3)} s` : 'n/a');
const fmtKiB = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

export function renderStartup(
  results: Measurement[],
  nodeE0Ms: number[],
  runs: number,
  levers?: LeverResults,
  notes: string[] = [],
): string {
  const lines: string[] = [];
  const nodeE0 = median(nodeE0Ms);
  lines.push('# Start-up of each action bundle');
  lines.push('');
  lines.push(
    `Generated by \`npm run bench:startup\` (bench/startup.ts) on ${new Date().toISOString().slice(0, 10)}, ` +
      `Node ${spawnVersion()}, ${runs} runs per figure (median), ` +
      `interleaved across actions. Baseline \`node -e 0\`: **${fmtMs(nodeE0)}** ` +
      `(the issue measured ${fmtMs(TARGETS.officialNodeE0Ms)} on this machine).`,
  );
  lines.push('');
  lines.push(
    'Definitions: *missing input* = spawn() to exit with no `INPUT_*` set. ' +
      '*first AWS call* = spawn() to the arrival (request headers read) of the first request at a local ' +
      'server on 127.0.0.1 that answers every call at once with AccessDenied, with `AWS_MAX_ATTEMPTS=1`; ' +
      '*exit after denial* = spawn() to exit in that run. *peak RSS* = GNU time `%M` of the first-call run (median). ' +
      `Targets (issue): bundle < 1 MB (${fmtKiB(TARGETS.bundleBytes)}), first AWS call ≤ ${fmtMs(TARGETS.firstCallMs)} ` +
      `(half of the official deploy action's ${fmtMs(TARGETS.officialFirstCallMs)}, a ${TARGETS.officialBundle} bundle, ` +
      'as measured by the issue on this machine; the official action is not installable here offline, so that figure is quoted, not re-measured).',
  );
  lines.push('');
  lines.push(
    '| action | index.js | all of dist/<name>/ | < 1 MB | missing input | first AWS call | exit after denial | first call minus `node -e 0` | ≤ 0.064 s | peak RSS | first call |',
  );
  lines.push('|---|---:|---:|:---:|---:|---:|---:|---:|:---:|---:|---|');
  for (const r of results) {
    const first = r.firstCallMs.length ? median(r.firstCallMs) : NaN;
    const exit = r.firstCallExitMs.length ? median(r.firstCallExitMs) : NaN;
    const rss = r.peakRssKb.length ? `${(median(r.peakRssKb) / 1024).toFixed(0)} MiB` : 'n/a';
    const firstOk = Number.isFinite(first) ? (first <= TARGETS.firstCallMs ? 'yes' : '**no**') : 'n/a';
    lines.push(
      `| ${r.name} | ${fmtKiB(r.indexBytes)} | ${fmtKiB(r.totalBytes)} | ${r.indexBytes < TARGETS.bundleBytes ? 'yes' : '**no**'} | ` +
        `${fmtMs(median(r.missingInputMs))} | ${fmtMs(first)} | ${fmtMs(exit)} | ${fmtMs(first - nodeE0)} | ${firstOk} | ${rss} | ` +
        `${r.firstCall ?? (r.firstCallError ? `none: ${r.firstCallError.replace(/\|/g, '/')}` : 'not measured')} |`,
    );
  }
  lines.push('');
  lines.push('What each bundle says when an input is missing:');
  lines.push('');
  for (const r of results) lines.push(`- ${r.name}: \`${r.missingInputMessage.replace(/`/g, "'")}\``);
  if (levers) {
    lines.push('');
    lines.push('## Levers, measured on scratch builds (`--levers`), interleaved with the runs above');
    lines.push('');
    lines.push(
      'Medians of the time to first AWS call, each lever measured in the same loop as the committed bundle (same runs, ' +
        'same machine load). *compile cache*: the committed bundle with `NODE_COMPILE_CACHE=<dir>` (what ' +
        '`module.enableCompileCache(dir)` does from inside the entry); *cold*: a fresh dir each run (the run writes ' +
        'the cache: what the first step of a job pays); *warm*: a dir an earlier run filled (a later step of the same ' +
        'job running the same bundle, e.g. a post step, with the dir under `RUNNER_TEMP`). *esbuild*: the same entry ' +
        'bundled by esbuild (ESM, minified) instead of ncc; *undici stubbed*: esbuild with `undici` aliased to a stub: ' +
        '`@actions/core` imports it through `@actions/http-client` only for OIDC tokens (`getIDToken`), which these ' +
        'actions never call (cdk-diff uses undici for real, through `@actions/github`).',
    );
    lines.push('');
    lines.push(`| action | committed (ncc) | ${levers.labels.join(' | ')} |`);
    lines.push(`|---|---:|${levers.labels.map(() => '---:').join('|')}|`);
    const cell = (m: Measurement | undefined, base: number) => {
      if (!m || !m.firstCallMs.length) return 'n/a';
      const t = median(m.firstCallMs);
      const delta = ((t - base) / base) * 100;
      const size = m.variant?.startsWith('esbuild') ? `${fmtKiB(m.indexBytes)}, ` : '';
      return `${size}${fmtMs(t)} (${delta >= 0 ? '+' : ''}${delta.toFixed(0)} %)`;
    };
    for (const r of results) {
      if (!r.firstCallMs.length) continue;
      const base = median(r.firstCallMs);
      const cells = levers.labels.map((label) =>
        cell(
          levers.variants.find((v) => v.name === r.name && v.variant === label),
          base,
        ),
      );
      lines.push(`| ${r.name} | ${fmtKiB(r.indexBytes)}, ${fmtMs(base)} | ${cells.join(' | ')} |`);
    }
    const names = Object.keys(levers.composition);
    if (names.length) {
      lines.push('');
      lines.push(
        'What each bundle is made of (esbuild metafile of the same entry; bytes in the minified output, top 6 packages):',
      );
      lines.push('');
      for (const name of names) {
        const parts = levers.composition[name]!;
        const total = parts.reduce((sum, [, b]) => sum + b, 0);
        const top = parts
          .slice(0, 6)
          .map(([pkg, b]) => `${pkg} ${fmtKiB(b)}`)
          .join(', ');
        lines.push(`- ${name} (${fmtKiB(total)}): ${top}`);
      }
    }
  }
  if (notes.length) {
    lines.push('');
    lines.push(...notes);
  }
  lines.push('');
  return lines.join('\n');
}

let nodeVersion: string | undefined;
function spawnVersion(): string {
  return nodeVersion ?? process.versions.node;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const runs = Number(arg('--runs') ?? 15);
  const out = resolve(root, arg('--out') ?? 'bench/results/startup.md');
  const dist = resolve(root, arg('--dist') ?? 'dist');
  const notesFile = resolve(root, 'bench/startup-notes.md');
  nodeVersion = (await nodeRun(['-p', 'process.versions.node'], { PATH: process.env.PATH ?? '' })).log.trim();
  const bundles = listBundles(dist);
  if (bundles.length === 0) throw new Error(`no dist/<name>/index.js under ${dist}`);
  const scratch = mkdtempSync(join(tmpdir(), 'bench-variants-'));
  let results: Measurement[];
  let nodeE0Ms: number[];
  let levers: LeverResults | undefined;
  try {
    const variants: BundleSpec[] = [];
    let composition: LeverResults['composition'] = {};
    if (args.includes('--levers')) {
      variants.push(...compileCacheVariants(bundles, scratch));
      const built = await esbuildVariants(
        bundles.map((b) => b.name),
        scratch,
      );
      if (built) {
        variants.push(...built.variants);
        composition = built.composition;
      }
    }
    console.log(
      `Measuring ${bundles.map((b) => b.name).join(', ')}${variants.length ? ` and ${variants.length} lever variants` : ''}: ${runs} runs each`,
    );
    const measured = await measure([...bundles, ...variants], runs);
    nodeE0Ms = measured.nodeE0Ms;
    results = measured.results.filter((r) => !r.variant);
    if (variants.length) {
      const lever = measured.results.filter((r) => r.variant);
      levers = { labels: [...new Set(lever.map((r) => r.variant!))], variants: lever, composition };
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const notes = existsSync(notesFile) ? [readFileSync(notesFile, 'utf8').trim()] : [];
  const table = renderStartup(results, nodeE0Ms, runs, levers, notes);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, table);
  console.log(table);
  console.log(`Wrote ${relative(root, out)}`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  await main();
}
