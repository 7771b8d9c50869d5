/**
 * A late crash: a task of the new revision that verify saw meant to run at
 * one poll and that a later poll no longer lists, because it stopped for a
 * failure (its essential container exited, it failed its health checks).
 * Waiting cannot fix that: verification fails at once and says why, the way
 * deploy-services explains a stopped task (lib/ecs/explain.ts).
 *
 * Tasks are followed by ARN across polls, not by their stop time: the AWS
 * clock and the runner's may differ.
 */
import type { Task } from '@aws-sdk/client-ecs';
import type { EcsClients } from '../ecs/clients.js';
import { explainStoppedTasks, stoppedByFailure } from '../ecs/explain.js';
import { sameRevision } from '../ecs/target-health.js';
import { shortTaskDefinition } from '../ecs/taskdef.js';
import { describeTasks } from '../ecs/tasks.js';

/** The tasks of the new revision each service had at earlier polls. */
export class TaskWatch {
  private readonly seen = new Map<string, Set<string>>();
  private readonly looked = new Set<string>();

  /** Records the service's tasks of the new revision now; returns those seen before and gone now (each once). */
  gone(service: string, running: readonly Task[], newTaskDefinition: string): string[] {
    const now = running
      .filter(
        (t) => t.desiredStatus === 'RUNNING' && sameRevision(t.taskDefinitionArn ?? '', newTaskDefinition),
      )
      .map((t) => t.taskArn ?? '')
      .filter(Boolean);
    let seen = this.seen.get(service);
    if (!seen) this.seen.set(service, (seen = new Set()));
    const current = new Set(now);
    const gone = [...seen].filter((arn) => !current.has(arn) && !this.looked.has(arn));
    for (const arn of gone) this.looked.add(arn);
    for (const arn of now) seen.add(arn);
    return gone;
  }
}

export interface LateCrashInput {
  cluster: string;
  service: string;
  newTaskDefinition: string;
  /** The service's tasks meant to run, read at this poll. */
  running: readonly Task[];
  watch: TaskWatch;
  clients: EcsClients;
  signal?: AbortSignal;
}

/** The problems of a late crash (the stopped tasks, why, their health check and last log lines), or none. */
export async function lateCrashProblems(input: LateCrashInput): Promise<string[]> {
  const { cluster, service, clients, signal } = input;
  const gone = input.watch.gone(service, input.running, input.newTaskDefinition);
  if (!gone.length) return [];
  const crashed = (await describeTasks(clients.ecs, cluster, gone, signal)).filter(
    (t) => t.desiredStatus === 'STOPPED' && stoppedByFailure(t),
  );
  if (!crashed.length) return [];
  const lines = await explainStoppedTasks(clients, {
    cluster,
    service,
    tasks: crashed,
    ...(signal ? { signal } : {}),
  });
  const n = crashed.length;
  return [
    `${service}: ${n} task${n === 1 ? '' : 's'} of the new revision ${shortTaskDefinition(input.newTaskDefinition)} stopped during verification after running:`,
    ...lines.map((line) => `${service}:   ${line}`),
  ];
}
