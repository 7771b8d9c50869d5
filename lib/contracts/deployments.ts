/**
 * The `deployments` report: deploy-services' output, read by verify and by the
 * workflows' rollback job. JSON object, service name → DeployedService. Field
 * names are a public interface (actions/deploy-services/README.md): add, never rename.
 */
import { InputError } from '../errors.js';
import type { ImageChange } from '../ecs/taskdef.js';
import { bareMap, isJsonObject, parseJsonObject } from './json.js';

export const DEPLOYMENT_STATUSES = [
  'deployed',
  'unchanged',
  'failed',
  'timed-out',
  'cancelled',
  /** Stopped following it because another service failed (it is rolled back with the rest). */
  'aborted',
  /**
   * This run is changing it (or about to): the outcome is not known yet. Only in an
   * output written before the end (deploy-services writes it early, so a step killed
   * mid-rollout still tells a rollback job what it started, from which revision).
   */
  'in-progress',
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** The service's deploymentConfiguration.strategy as deploy-services read it (ROLLING when unset). */
export type DeploymentStrategy = 'ROLLING' | 'BLUE_GREEN' | 'LINEAR' | 'CANARY';

/** One service in the `deployments` output. */
export interface DeployedService {
  service: string;
  cluster: string;
  /** What the service ran before this run. */
  previousTaskDefinition: string;
  /** What this run deployed (equals previousTaskDefinition when unchanged). */
  taskDefinition: string;
  /** A new revision was registered by this run. */
  registered: boolean;
  /** Image swaps by container (images mode). */
  images: ImageChange[];
  status: DeploymentStatus;
  /** Why it failed (one line); details in `details`. */
  reason?: string;
  details?: string[];
  /** ISO 8601; absent for unchanged services. */
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  rollback?: {
    taskDefinition: string;
    /**
     * succeeded: back on the previous revision and healthy/steady; started: requested
     * (UpdateService sent), not confirmed because the run was cancelled; failed: see reason.
     */
    status: 'succeeded' | 'failed' | 'started';
    reason?: string;
    finishedAt?: string;
    durationMs?: number;
    /**
     * Traffic-shift services: ms from the StopServiceDeployment ROLLBACK call to green's
     * production weight 0 (production back on blue); only when that moment was seen.
     */
    trafficShiftBackMs?: number;
  };
  /** Absent when this run did not follow the service or could not read its strategy. */
  strategy?: DeploymentStrategy;
  /** BLUE_GREEN, LINEAR, CANARY: the service deployment's lifecycle stage at the last read. */
  lifecycleStage?: string;
  /** BLUE_GREEN, LINEAR, CANARY: % of production traffic on the new (green) revision at the last read. */
  productionTrafficWeight?: number;
  /**
   * BLUE_GREEN, LINEAR, CANARY: the target service revision ARN of the service deployment this run
   * followed (what the release gate opens for: release-gate `open`).
   */
  serviceRevisionArn?: string;
  /** The revision the service's PRIMARY deployment runs at the end. */
  finalTaskDefinition: string;
  consoleUrl?: string;
}

/** What one deploy-services run did; its `services` are the `deployments` output. */
export interface DeployReport {
  cluster: string;
  ok: boolean;
  cancelled: boolean;
  /** All services back on their previous revisions after a failure. */
  rolledBack: boolean;
  services: DeployedService[];
  durationMs: number;
}

/**
 * One entry as read back. Only `taskDefinition` is required: readers (verify,
 * the rollback job) need the revision deployed, and a hand-written entry may
 * give just that. Fields that are present are type-checked; the rest is kept as written.
 */
export type DeploymentEntry = Partial<DeployedService> & Pick<DeployedService, 'taskDefinition'>;

/** Service name → entry; no prototype, so any service name is an ordinary key. */
export type Deployments = Record<string, DeploymentEntry>;

/** Per service, the revision verify must find live (and the one it replaced). */
export interface ExpectedRevision {
  newTaskDefinitionArn: string;
  previousTaskDefinitionArn?: string;
}

const FIX = 'pass the deploy-services output as is: `deployments: ${{ steps.deploy.outputs.deployments }}`';
const STRING_FIELDS = [
  'service',
  'cluster',
  'previousTaskDefinition',
  'finalTaskDefinition',
  'reason',
  'strategy',
  'lifecycleStage',
  'serviceRevisionArn',
] as const;

/** The `deployments` output of one run. */
export function serializeDeployments(report: Pick<DeployReport, 'services'>): string {
  return JSON.stringify(Object.fromEntries(report.services.map((s) => [s.service, s])));
}

/** Parses the `deployments` JSON; every refusal names `input` and says how to fix it. */
export function parseDeployments(raw: string, input = 'deployments'): Deployments {
  const object = parseJsonObject(raw, { input, shape: 'a JSON object keyed by service name', fix: FIX });
  return bareMap(
    Object.entries(object).map(([service, entry]) => [service, checkedEntry(service, entry, input)]),
  );
}

/** What verify reads of each entry: the revision deployed and the one before it. */
export function expectedRevisions(deployments: Deployments): Map<string, ExpectedRevision> {
  return new Map(
    Object.entries(deployments).map(([service, entry]) => {
      const previous = entry.previousTaskDefinition?.trim();
      return [
        service,
        {
          newTaskDefinitionArn: entry.taskDefinition.trim(),
          ...(previous ? { previousTaskDefinitionArn: previous } : {}),
        },
      ];
    }),
  );
}

function checkedEntry(service: string, entry: unknown, input: string): DeploymentEntry {
  if (!isJsonObject(entry)) throw new InputError(input, `the entry for "${service}" is not an object`, FIX);
  const wrong = (field: string, expected: string) =>
    new InputError(
      input,
      `the entry for "${service}": "${field}" is not ${expected} (${JSON.stringify(entry[field])})`,
      FIX,
    );
  if (typeof entry.taskDefinition !== 'string' || entry.taskDefinition.trim() === '')
    throw new InputError(
      input,
      `the entry for "${service}" has no "taskDefinition" (the revision deployed)`,
      FIX,
    );
  for (const field of STRING_FIELDS) {
    if (entry[field] !== undefined && typeof entry[field] !== 'string') throw wrong(field, 'a string');
  }
  if (entry.status !== undefined && !(DEPLOYMENT_STATUSES as readonly unknown[]).includes(entry.status))
    throw wrong('status', `one of ${DEPLOYMENT_STATUSES.join(', ')}`);
  if (entry.registered !== undefined && typeof entry.registered !== 'boolean')
    throw wrong('registered', 'true or false');
  if (entry.images !== undefined && !Array.isArray(entry.images)) throw wrong('images', 'an array');
  if (entry.productionTrafficWeight !== undefined && typeof entry.productionTrafficWeight !== 'number')
    throw wrong('productionTrafficWeight', 'a number');
  return { ...entry } as DeploymentEntry;
}
