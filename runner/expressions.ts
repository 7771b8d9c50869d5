/**
 * GitHub Actions expressions, evaluated with GitHub's own library
 * (@actions/expressions). The status functions (success(), failure(), ...)
 * depend on where they are evaluated, so the caller supplies them.
 */
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
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

function toData(value: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

function statusFunctions(status: Status): Map<string, FunctionDefinition> {
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
      'hashFiles',
      {
        name: 'hashFiles',
        minArgs: 1,
        maxArgs: 255,
        call: () => {
          throw new Error('hashFiles() is not supported by the local runner');
        },
      },
    ],
  ]);
}

/** Evaluates one expression (the text inside `${{ }}`). */
export function evaluate(expression: string, contexts: Contexts, status: Status): data.ExpressionData {
  const lexed = new Lexer(expression).lex();
  const functions = statusFunctions(status);
  const parser = new Parser(lexed.tokens, CONTEXT_NAMES, [...functions.values()]);
  const tree = parser.parse();
  const context = new data.Dictionary(
    ...CONTEXT_NAMES.map((key) => ({ key, value: toData(contexts[key] ?? {}) })),
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
