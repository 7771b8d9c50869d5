/**
 * Lambda functions of the world, run for real: a Node.js handler from the
 * scenario (a code directory, or inline source as CloudFormation's
 * Code.ZipFile) is executed in a child process with the event on stdin, so
 * the hook code that ships is the code the simulator runs. ECS deployment
 * lifecycle hooks invoke functions through this (sim/ecs/blue-green.ts).
 *
 * The child gets what the Lambda runtime gives (AWS_REGION,
 * AWS_LAMBDA_FUNCTION_NAME, the function's environment variables, credentials
 * of its execution role when the scenario models IAM, else test ones) and
 * AWS_ENDPOINT_URL pointing at the simulator, so its AWS SDK calls come here.
 * A handler is `file.export`; the file is looked up as .js, .mjs, .cjs (the
 * Lambda Node.js runtime's order). Inline source is written to
 * node_modules/.cache/sim-lambda/<name>-<hash>/index.js, so the handler
 * resolves the AWS SDK from the repository's node_modules as Lambda's runtime provides it.
 *
 * Not modelled: the Invoke API, cold starts, concurrency, memory limits, layers.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HookInvoker, HookOutcome } from './ecs/blue-green.js';
import type { LambdaFunctionSpec } from './scenario.js';

/** Credentials a function runs with (a session of its execution role). */
export interface LambdaCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface LambdaRuntimeDeps {
  region: string;
  accountId: string;
  event(kind: string, detail: Record<string, unknown>): void;
}

/** Lambda's default function timeout, seconds. */
const DEFAULT_TIMEOUT_S = 3;

/**
 * Where inline code is written: the repository's node_modules/.cache, so imports of
 * the AWS SDK resolve from its node_modules and no linter or formatter looks at it.
 */
const INLINE_ROOT = fileURLToPath(new URL('../node_modules/.cache/sim-lambda/', import.meta.url));

/** The child's program: import the handler, call it with the event from stdin, answer on fd 3. */
const RUNNER = `
import { writeSync } from 'node:fs';
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const send = (value) => writeSync(3, JSON.stringify(value));
try {
  const mod = await import(process.env.SIM_LAMBDA_FILE_URL);
  const name = process.env.SIM_LAMBDA_EXPORT;
  const handler = mod[name] ?? mod.default?.[name];
  if (typeof handler !== 'function') throw new Error(process.env._HANDLER + ' is undefined or not exported');
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    invokedFunctionArn: process.env.SIM_LAMBDA_ARN,
    awsRequestId: process.env.SIM_LAMBDA_REQUEST_ID,
    getRemainingTimeInMillis: () => Number(process.env.SIM_LAMBDA_DEADLINE) - Date.now(),
  };
  const result = await handler(event, context);
  send({ ok: true, payload: result === undefined ? null : result });
} catch (err) {
  send({ ok: false, error: (err && err.name ? err.name + ': ' : '') + (err && err.message ? err.message : String(err)) });
}
`;

export class LambdaRuntime implements HookInvoker {
  private functions = new Map<string, LambdaFunctionSpec & { arn: string }>();
  /** The simulator's address, for the function's AWS_ENDPOINT_URL (set once it listens). */
  endpoint?: string;
  /** Credentials of a role (set when the scenario models IAM); absent, test credentials. */
  credentials?: (roleArn: string) => LambdaCredentials;

  constructor(private readonly deps: LambdaRuntimeDeps) {}

  load(specs: LambdaFunctionSpec[]): void {
    this.functions = new Map();
    for (const spec of specs) {
      const runtime = spec.runtime ?? 'nodejs22.x';
      if (!runtime.startsWith('nodejs'))
        throw new Error(
          `scenario: Lambda function ${spec.name} has runtime ${runtime}; only nodejs* runs here`,
        );
      if (!spec.code.path && spec.code.zipFile === undefined)
        throw new Error(`scenario: Lambda function ${spec.name} has no code (path or zipFile)`);
      const arn =
        spec.arn ?? `arn:aws:lambda:${this.deps.region}:${this.deps.accountId}:function:${spec.name}`;
      this.functions.set(arn, { ...spec, arn });
    }
  }

  /** A function by ARN (also with a version or alias suffix) or name. */
  find(ref: string): (LambdaFunctionSpec & { arn: string }) | undefined {
    const exact = this.functions.get(ref);
    if (exact) return exact;
    for (const fn of this.functions.values()) {
      if (fn.name === ref || ref.startsWith(`${fn.arn}:`)) return fn;
    }
    return undefined;
  }

  /** Runs the function's handler with `payload`; what it returned, or why it failed. */
  async invoke(functionArn: string, roleArn: string | undefined, payload: unknown): Promise<HookOutcome> {
    const fn = this.find(functionArn);
    if (!fn) {
      this.deps.event('lambda.invoke', { functionArn, roleArn, error: 'ResourceNotFoundException' });
      return { ok: false, error: `ResourceNotFoundException: Function not found: ${functionArn}` };
    }
    const started = Date.now();
    const outcome = await this.run(fn, payload).catch((err: unknown): HookOutcome => ({
      ok: false,
      error: err instanceof Error ? err.message : String(err),
    }));
    this.deps.event('lambda.invoke', {
      functionArn: fn.arn,
      roleArn,
      ok: outcome.ok,
      error: outcome.ok ? undefined : outcome.error,
      realMs: Date.now() - started,
    });
    return outcome;
  }

  private run(fn: LambdaFunctionSpec & { arn: string }, payload: unknown): Promise<HookOutcome> {
    const dot = fn.handler.lastIndexOf('.');
    if (dot <= 0)
      return Promise.resolve({ ok: false, error: `Bad handler ${fn.handler}: expected file.export` });
    const moduleName = fn.handler.slice(0, dot);
    const exportName = fn.handler.slice(dot + 1);
    const dir = fn.code.path ? resolve(fn.code.path) : this.writeInline(fn);
    const file = ['.js', '.mjs', '.cjs'].map((ext) => join(dir, moduleName + ext)).find((f) => existsSync(f));
    if (!file)
      return Promise.resolve({
        ok: false,
        error: `Runtime.ImportModuleError: Error: Cannot find module '${moduleName}' in ${dir}`,
      });
    const timeoutMs = (fn.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
    const credentials = this.credentialsOf(fn);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...fn.environment,
      AWS_REGION: this.deps.region,
      AWS_DEFAULT_REGION: this.deps.region,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds ?? DEFAULT_TIMEOUT_S),
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime ?? 'nodejs22.x'}`,
      _HANDLER: fn.handler,
      LAMBDA_TASK_ROOT: dir,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
      ...(this.endpoint ? { AWS_ENDPOINT_URL: this.endpoint } : {}),
      SIM_LAMBDA_FILE_URL: pathToFileURL(file).href,
      SIM_LAMBDA_EXPORT: exportName,
      SIM_LAMBDA_ARN: fn.arn,
      SIM_LAMBDA_REQUEST_ID: createHash('sha1').update(`${Date.now()}${Math.random()}`).digest('hex'),
      SIM_LAMBDA_DEADLINE: String(Date.now() + timeoutMs),
    };
    return new Promise((done) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER], {
        cwd: dir,
        env,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
      let answer = '';
      let logs = '';
      child.stdio[3]!.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
      child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
      child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ ok: false, error: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` });
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        done({ ok: false, error: err.message });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (logs) this.deps.event('lambda.log', { functionArn: fn.arn, output: logs.slice(-4000) });
        try {
          done(JSON.parse(answer) as HookOutcome);
        } catch {
          done({ ok: false, error: `Runtime exited with error: exit status ${code}` });
        }
      });
      child.stdin!.end(JSON.stringify(payload));
    });
  }

  private credentialsOf(fn: LambdaFunctionSpec): LambdaCredentials {
    if (fn.role && this.credentials) {
      try {
        return this.credentials(fn.role);
      } catch {
        // No IAM modelled (or no such role): the function calls with test credentials, as every client does then.
      }
    }
    return { accessKeyId: 'test', secretAccessKey: 'test' };
  }

  /** Writes inline source once per content, where imports of the AWS SDK resolve. */
  private writeInline(fn: LambdaFunctionSpec): string {
    const source = fn.code.zipFile ?? '';
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
    const dir = join(INLINE_ROOT, `${fn.name.replace(/[^A-Za-z0-9_-]/g, '_')}-${hash}`);
    const file = join(dir, 'index.js');
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true });
      // Written aside and renamed: another process (a parallel test worker) never imports half a file.
      const atomically = (path: string, text: string) => {
        const aside = `${path}.${process.pid}.tmp`;
        writeFileSync(aside, text);
        renameSync(aside, path);
      };
      // No "type": Node tells CommonJS (exports.handler) from ES modules (export const handler) by syntax.
      atomically(join(dir, 'package.json'), '{}\n');
      atomically(file, source);
    }
    return dir;
  }
}
