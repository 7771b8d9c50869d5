/** The parts of the workflow syntax the local runner understands. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface Workflow {
  name?: string;
  on?: unknown;
  env?: Record<string, unknown>;
  permissions?: unknown;
  concurrency?: unknown;
  defaults?: unknown;
  jobs: Record<string, Job>;
}

export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string | boolean;
  'runs-on'?: unknown;
  environment?: string | { name: string; url?: string };
  permissions?: unknown;
  outputs?: Record<string, string>;
  env?: Record<string, unknown>;
  steps?: Step[];
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: 'inherit' | Record<string, string>;
  'timeout-minutes'?: number;
  'continue-on-error'?: boolean;
  strategy?: unknown;
  services?: unknown;
  container?: unknown;
  concurrency?: unknown;
  defaults?: unknown;
}

export interface Step {
  id?: string;
  name?: string;
  if?: string | boolean;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  shell?: string;
  'working-directory'?: string;
  'continue-on-error'?: boolean;
  'timeout-minutes'?: number;
}

export interface WorkflowCallSpec {
  inputs?: Record<string, { type?: 'string' | 'number' | 'boolean'; default?: unknown; required?: boolean }>;
  secrets?: Record<string, { required?: boolean }>;
  outputs?: Record<string, { value: string; description?: string }>;
}

export function loadWorkflow(file: string): Workflow {
  const workflow = parse(readFileSync(file, 'utf8')) as Workflow;
  if (!workflow || typeof workflow !== 'object' || !workflow.jobs) {
    throw new Error(`${file} is not a workflow: it has no jobs`);
  }
  return workflow;
}

/** The `on:` triggers as a map, whichever of the three YAML shapes the file uses. */
export function triggers(workflow: Workflow): Record<string, unknown> {
  const on = workflow.on;
  if (typeof on === 'string') return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((e: string) => [e, {}]));
  return (on ?? {}) as Record<string, unknown>;
}

export function needsOf(job: Job): string[] {
  if (!job.needs) return [];
  return Array.isArray(job.needs) ? job.needs : [job.needs];
}

/** Jobs in an order that respects `needs` (file order among equals); a cycle or an unknown job is an error. */
export function jobOrder(workflow: Workflow): string[] {
  const ids = Object.keys(workflow.jobs);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, from?: string) => {
    if (!workflow.jobs[id]) throw new Error(`job "${from}" needs "${id}", which does not exist`);
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`jobs depend on each other in a cycle through "${id}"`);
    state.set(id, 'visiting');
    for (const need of needsOf(workflow.jobs[id]!)) visit(need, id);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of ids) visit(id);
  return order;
}

/** Every job `id` depends on, directly or not. */
export function ancestors(workflow: Workflow, id: string): Set<string> {
  const seen = new Set<string>();
  const walk = (job: string) => {
    for (const need of needsOf(workflow.jobs[job]!)) {
      if (!seen.has(need)) {
        seen.add(need);
        walk(need);
      }
    }
  };
  walk(id);
  return seen;
}
