/**
 * Synthesizes a CDK app into a cloud assembly with the CDK CLI, cached by a
 * hash of the app's sources, its CDK context and the CDK library version, so
 * repeated test runs do not synthesize again. The cache lives under
 * `.tmp/assemblies/<hash>`; each synthesis writes a directory of its own and
 * renames it into place, so parallel test workers never see half an assembly.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digest } from './physical-ids.js';

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface SynthOptions {
  /** The CDK app's directory (holds cdk.json). */
  appDir: string;
  /** `-c key=value` for each entry. */
  context?: Record<string, string>;
  /** Default <repo>/.tmp/assemblies. */
  cacheDir?: string;
}

/** Directories of an app that are never its sources. */
const SKIPPED = new Set(['node_modules', 'cdk.out', '.tmp', 'test']);

function sourceFiles(dir: string, root = dir): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (SKIPPED.has(entry) || entry.startsWith('.')) continue;
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) files.push(...sourceFiles(full, root));
    else files.push(relative(root, full));
  }
  return files;
}

function cdkLibraryVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(join(repositoryRoot, 'node_modules/aws-cdk-lib/package.json'), 'utf8'),
    ) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/** The cache key: every source file's path and content, the context, the CDK library version. */
export function assemblyKey(options: SynthOptions): string {
  const appDir = resolve(options.appDir);
  const parts = sourceFiles(appDir).flatMap((file) => [file, readFileSync(join(appDir, file), 'utf8')]);
  const context = Object.entries(options.context ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return digest(...parts, JSON.stringify(context), cdkLibraryVersion()).slice(0, 24);
}

/** The assembly directory for the app as it is now (synthesized on a cache miss). */
export function synthesize(options: SynthOptions): string {
  const appDir = resolve(options.appDir);
  const cacheDir = options.cacheDir ?? join(repositoryRoot, '.tmp', 'assemblies');
  const target = join(cacheDir, assemblyKey(options));
  if (existsSync(join(target, 'manifest.json'))) {
    const now = new Date();
    utimesSync(target, now, now); // marks it used, so pruning keeps it
    return target;
  }
  mkdirSync(cacheDir, { recursive: true });
  prune(cacheDir);
  const scratch = `${target}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const args = ['synth', '--no-notices', '--quiet', '--output', scratch];
  for (const [key, value] of Object.entries(options.context ?? {})) args.push('--context', `${key}=${value}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
  // The CLI runs the app with its own Node options; a test runner's (vm modules) are not for it.
  delete env.NODE_OPTIONS;
  try {
    execFileSync(join(repositoryRoot, 'node_modules', '.bin', 'cdk'), args, {
      cwd: appDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`cdk synth failed in ${appDir}:\n${stderr || String(err)}`, { cause: err });
  }
  try {
    renameSync(scratch, target);
  } catch (err) {
    // Another worker renamed its copy first: theirs is as good as ours.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(target, 'manifest.json'))) throw err;
  }
  return target;
}

/** Every change to an app adds an entry: those unused for a week go (scratch directories of crashed runs too). */
function prune(cacheDir: string): void {
  const cutoff = Date.now() - 7 * 24 * 60 * 60 * 1000;
  for (const entry of readdirSync(cacheDir)) {
    const full = join(cacheDir, entry);
    try {
      if (statSync(full).mtimeMs < cutoff) rmSync(full, { recursive: true, force: true });
    } catch {
      // Removed meanwhile by another worker.
    }
  }
}
