/**
 * GitHub Actions expressions, evaluated with GitHub's own library
 * (@actions/expressions). The status functions (success(), failure(), ...)
 * depend on where they are evaluated, so the caller supplies them.
 *
 * Nothing evaluates to empty because the runner lacks it: a context the
 * caller did not supply (not available where the expression is, as GitHub
 * refuses it too), and a member GitHub documents for `github`, `runner`,
 * `job` or `strategy` that the supplied context does not hold, are refused
 * with an error naming the expression. A member GitHub does not document (and
 * an absent output, input, variable or secret) is '' as on GitHub.
 */
import { createHash } from 'node:crypto';
import { globSync, readFileSync, statSync } from 'node:fs';
import { matchesGlob, relative, resolve } from 'node:path';
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import { ContextAccess, IndexAccess, Literal, type Expr } from '@actions/expressions/ast';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { truthy } from '@actions/expressions/result';

export type Contexts = Record<string, unknown>;

export interface Status {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

const CONTEXT_NAMES = [
  'github',
  'env',
  'vars',
  'secrets',
  'inputs',
  'needs',
  'steps',
  'runner',
  'job',
  'jobs',
  'matrix',
  'strategy',
];

/**
 * The members GitHub documents ("Contexts reference") for the contexts whose
 * shape is fixed. job_workflow_sha is documented but GitHub does not give it
 * in the github context (actions/runner#2417): '' there, and here.
 */
export const DOCUMENTED_MEMBERS: Record<string, readonly string[]> = {
  github: [
    'action',
    'action_path',
    'action_ref',
    'action_repository',
    'action_status',
    'actor',
    'actor_id',
    'api_url',
    'base_ref',
    'env',
    'event',
    'event_name',
    'event_path',
    'graphql_url',
    'head_ref',
    'job',
    'path',
    'ref',
    'ref_name',
    'ref_protected',
    'ref_type',
    'repository',
    'repository_id',
    'repository_owner',
    'repository_owner_id',
    'repositoryUrl',
    'retention_days',
    'run_id',
    'run_number',
    'run_attempt',
    'secret_source',
    'server_url',
    'sha',
    'token',
    'triggering_actor',
    'workflow',
    'workflow_ref',
    'workflow_sha',
    'workspace',
  ],
  runner: ['name', 'os', 'arch', 'temp', 'tool_cache', 'debug', 'environment'],
  job: ['container', 'services', 'status'],
  strategy: ['fail-fast', 'job-index', 'job-total', 'max-parallel'],
};

/** `context.member` and `context['member']` reads in an expression, found in its syntax tree. */
function memberReads(tree: Expr): { context: string; member?: string }[] {
  const reads: { context: string; member?: string }[] = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (node instanceof IndexAccess && node.expr instanceof ContextAccess) {
      const index = node.index instanceof Literal ? node.index.literal : undefined;
      reads.push({
        context: node.expr.name.lexeme,
        ...(index?.kind === data.Kind.String ? { member: index.coerceString() } : {}),
      });
    } else if (node instanceof ContextAccess) {
      reads.push({ context: node.name.lexeme });
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object' && 'accept' in value) walk(value);
    }
  };
  walk(tree);
  return reads;
}

/** Throws for a read the runner cannot answer as GitHub would (see the file's comment). */
function refuseUnsupported(expression: string, tree: Expr, contexts: Contexts): void {
  for (const { context, member } of memberReads(tree)) {
    const value = contexts[context];
    if (value === undefined) {
      throw new Error(
        `\${{ ${expression.trim()} }}: the ${context} context is not available here (the local runner gives it where GitHub does)`,
      );
    }
    if (
      member !== undefined &&
      DOCUMENTED_MEMBERS[context]?.includes(member) &&
      !(member in (value as Record<string, unknown>))
    ) {
      throw new Error(
        `\${{ ${expression.trim()} }}: ${context}.${member} is not supported by the local runner (GitHub gives it; the runner will not stand in an empty value)`,
      );
    }
  }
}

function toData(value: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

/**
 * hashFiles(patterns...): GitHub's documented result: the SHA-256 of the
 * SHA-256 of each regular file the patterns match under the workspace
 * (`!pattern` excludes), '' when none match. Files are taken in path order;
 * GitHub's runner takes them in directory-walk order, so a multi-file hash
 * equals GitHub's only when those orders agree (a cache key compared with
 * itself is what it is for).
 */
export function hashFiles(workspace: string, patterns: string[]): string {
  const include = patterns.filter((p) => !p.startsWith('!'));
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const files = new Set<string>();
  for (const pattern of include) {
    for (const match of globSync(pattern, { cwd: workspace })) {
      const path = resolve(workspace, match);
      if (!path.startsWith(`${workspace}/`)) continue;
      if (exclude.some((x) => matchesGlob(relative(workspace, path), x))) continue;
      if (statSync(path).isFile()) files.add(path);
    }
  }
  if (files.size === 0) return '';
  const result = createHash('sha256');
  for (const file of [...files].sort())
    result.update(createHash('sha256').update(readFileSync(file)).digest());
  return result.digest('hex');
}

function statusFunctions(status: Status, contexts: Contexts): Map<string, FunctionDefinition> {
  const fn = (name: string, value: () => boolean): [string, FunctionDefinition] => [
    name,
    { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) },
  ];
  return new Map([
    fn('success', () => status.success()),
    fn('failure', () => status.failure()),
    fn('cancelled', () => status.cancelled()),
    fn('always', () => true),
    [
      // The evaluator looks functions up by their lower-cased name.
      'hashfiles',
      {
        name: 'hashFiles',
        minArgs: 1,
        maxArgs: 255,
        call: (...args: data.ExpressionData[]) => {
          const workspace = (contexts.github as { workspace?: string } | undefined)?.workspace;
          if (!workspace) throw new Error('hashFiles() reads the job’s workspace, which is not there yet');
          return new data.StringData(
            hashFiles(
              workspace,
              args.map((a) => a.coerceString()),
            ),
          );
        },
      },
    ],
  ]);
}

/** Evaluates one expression (the text inside `${{ }}`). */
export function evaluate(expression: string, contexts: Contexts, status: Status): data.ExpressionData {
  const lexed = new Lexer(expression).lex();
  const functions = statusFunctions(status, contexts);
  const parser = new Parser(lexed.tokens, CONTEXT_NAMES, [...functions.values()]);
  const tree = parser.parse();
  refuseUnsupported(expression, tree, contexts);
  const context = new data.Dictionary(
    ...CONTEXT_NAMES.filter((key) => contexts[key] !== undefined).map((key) => ({
      key,
      value: toData(contexts[key]),
    })),
  );
  return new Evaluator(tree, context, functions).evaluate();
}

/** Replaces every `${{ expr }}` in a string; a string that is one whole expression keeps its value's type. */
export function interpolate(template: unknown, contexts: Contexts, status: Status): unknown {
  if (typeof template !== 'string' || !template.includes('${{')) return template;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(template);
  if (whole && !whole[1]!.includes('}}')) return toPlain(evaluate(whole[1]!, contexts, status));
  return template.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) =>
    evaluate(expr, contexts, status).coerceString(),
  );
}

/** Like interpolate, but always a string, as inputs and env values are. */
export function interpolateString(template: unknown, contexts: Contexts, status: Status): string {
  const value = interpolate(template, contexts, status);
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** An `if:` condition: bare or wrapped in ${{ }}, with success() implied when no status function is used. */
export function condition(expression: unknown, contexts: Contexts, status: Status): boolean {
  if (expression === undefined || expression === null || expression === '') return status.success();
  if (typeof expression === 'boolean') return expression && status.success();
  let text = String(expression).trim();
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(text);
  if (wrapped) text = wrapped[1]!;
  const usesStatus = /\b(success|failure|cancelled|always)\s*\(/.test(text);
  const result = evaluate(usesStatus ? text : `success() && (${text})`, contexts, status);
  return truthy(result);
}

function toPlain(value: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer)) as unknown;
}
