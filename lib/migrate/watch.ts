/**
 * Step 3 of a migration: watch the task (its containers' logs live, its status)
 * until it stops; on timeout or cancellation stop it, because migrate never
 * leaves it running unobserved. Waiting (poll, deadline, sleep on an injected
 * Clock) is kept apart from reporting (status lines, log lines, heartbeat).
 */
import type { ContainerDefinition, ECSClient, Task } from '@aws-sdk/client-ecs';
import { awslogsStreamFor } from '../cwlogs.js';
import { describeTasks, taskId } from '../ecs/tasks.js';
import { CancelledError, OperationError, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import type { LogLine, LogStreamFollower } from '../logstream.js';
import { AdaptiveInterval, Heartbeat, formatDuration, type Clock } from '../time.js';
import type { LogLinePrinter, MigrationClients, MigrationResult, MigrationTiming } from './run.js';
import { STOP_REASON_PREFIX, stopTasks, type StartedTask } from './start.js';

/** What the watch works with. */
export interface TaskWatch {
  ecs: ECSClient;
  cluster: string;
  task: StartedTask;
  follower: LogStreamFollower;
  log: Log;
  timing: MigrationTiming;
  clock: Clock;
}

export interface WatchOutcome {
  /** The tasks as last seen (STOPPED unless migrate gave up waiting for that). */
  tasks: Task[];
  /** Set when migrate stopped the task itself. */
  stoppedBy?: MigrationResult['stoppedBy'];
  /** Why migrate stopped it, and whether it then stopped. */
  stopProblem?: string;
}

/** DescribeTasks answering without the task this many polls in a row is an error, not lag. */
const MISSING_POLLS_LIMIT = 10;

class TimedOut extends Error {}

/** A follower of every awslogs stream of the task's containers, printing their lines. */
export async function followTaskLogs(
  clients: MigrationClients,
  region: string,
  containers: ContainerDefinition[],
  task: StartedTask,
  io: { log: Log; printLogLines: LogLinePrinter; clock: Clock },
): Promise<LogStreamFollower> {
  const { log, printLogLines, clock } = io;
  const { taskArns, firstId } = task;
  const severalStreams = containers.filter((c) => awslogsStreamFor(c, firstId)).length > 1;
  // Loaded only now: a run that fails before RunTask does not pay for the Logs SDK.
  const { LogStreamFollower } = await import('../logstream.js');
  const follower = new LogStreamFollower(await clients.logs(region), {
    onLines: (lines) =>
      printLogLines(lines.map((line) => (severalStreams ? `[${line.label}] ${line.message}` : line.message))),
    onWarning: (m) => log.warning(m),
    clock,
  });
  for (const arn of taskArns) {
    for (const container of containers) {
      const stream = awslogsStreamFor(container, arn);
      if (!stream) continue;
      const label = taskArns.length > 1 ? `${taskId(arn).slice(0, 8)}/${container.name}` : container.name!;
      const client = await clients.logs(stream.region ?? region);
      follower.addVia(client, {
        logGroupName: stream.logGroupName,
        logStreamName: stream.logStreamName,
        label,
      });
    }
  }
  const unlogged = containers.filter((c) => !awslogsStreamFor(c, firstId)).map((c) => c.name);
  if (unlogged.length > 0) {
    log.info(`Not streamed (no awslogs driver with a stream prefix): ${unlogged.join(', ')}`);
  }
  return follower;
}

/** Watches the task to its end (or stops it at the timeout or on cancellation), then reads its last lines. */
export async function watchTask(
  watch: TaskWatch,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<WatchOutcome> {
  const { log, task, follower, timing } = watch;
  return log.group(`Task ${task.firstId}: logs and status`, async () => {
    const outcome = await watchUntilStopped(watch, timeoutSeconds, signal);
    // The last lines reach CloudWatch after the container exits.
    await follower
      .drain(outcome.stoppedBy === 'cancellation' ? { ...timing.drain, maxMs: 1500 } : timing.drain)
      .catch((err: unknown) => log.warning(`reading the last log lines: ${errorMessage(err)}`));
    return outcome;
  });
}

async function watchUntilStopped(
  watch: TaskWatch,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<WatchOutcome> {
  const { ecs, cluster, task, log } = watch;
  try {
    return { tasks: await waitForStop(watch, task.started + timeoutSeconds * 1000, signal) };
  } catch (err) {
    if (!(err instanceof CancelledError || signal?.aborted || err instanceof TimedOut)) {
      // Whatever broke the watch, the task must not keep running unobserved.
      await stopTasks(ecs, cluster, task.taskArns, `${STOP_REASON_PREFIX}: cannot follow the task`, log);
      throw err;
    }
    const why =
      err instanceof TimedOut
        ? `timed out after ${timeoutSeconds}s`
        : `workflow cancelled (${/SIG[A-Z]+/.exec(String(signal?.reason))?.[0] ?? 'aborted'})`;
    return stopAndAwait(watch, err instanceof TimedOut ? 'timeout' : 'cancellation', why);
  }
}

/** StopTask with the reason, then a bounded wait for STOPPED (shorter on cancellation). */
async function stopAndAwait(
  watch: TaskWatch,
  stoppedBy: NonNullable<WatchOutcome['stoppedBy']>,
  why: string,
): Promise<WatchOutcome> {
  const { ecs, cluster, task, log, timing, clock } = watch;
  log.warning(`${why}: stopping task ${task.firstId}`);
  await stopTasks(ecs, cluster, task.taskArns, `${STOP_REASON_PREFIX}: ${why}`, log);
  // The runner kills the step about 10 s after SIGINT: no long wait on cancellation.
  const waitMs = stoppedBy === 'timeout' ? timing.stopWaitMs : timing.cancelStopWaitMs;
  try {
    const tasks = await waitForStop(watch, clock.now() + waitMs);
    return { tasks, stoppedBy, stopProblem: `${why}; the task was stopped` };
  } catch (err) {
    if (!(err instanceof TimedOut)) throw err;
    const stopProblem = `${why}; the task had not reached STOPPED ${formatDuration(waitMs)} after StopTask`;
    return { tasks: task.tasks, stoppedBy, stopProblem };
  }
}

/** Polls the task and its logs until every task is STOPPED; TimedOut at the deadline. */
async function waitForStop(watch: TaskWatch, deadline: number, signal?: AbortSignal): Promise<Task[]> {
  const { timing, clock } = watch;
  const interval = new AdaptiveInterval(timing.pollMinMs, timing.pollMaxMs);
  const progress = new ProgressReport(watch);
  const poll = taskPoller(watch);
  for (;;) {
    const { tasks, lines } = await poll(signal);
    const changed = progress.show(tasks, lines);
    if (tasks.length > 0 && tasks.every((t) => t.lastStatus === 'STOPPED')) return tasks;
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw new TimedOut();
    await clock.sleep(Math.min(interval.next(changed), remaining), signal);
  }
}

/**
 * One poll: DescribeTasks and the new log lines, read together. The lines are
 * returned undelivered, so the status is shown before them.
 */
function taskPoller(
  watch: TaskWatch,
): (signal?: AbortSignal) => Promise<{ tasks: Task[]; lines: LogLine[] }> {
  const { ecs, cluster, task, follower } = watch;
  let tasks = task.tasks;
  let missingPolls = 0;
  return async (signal) => {
    const logsRead = follower.fetch(signal);
    const described = await describeTasks(ecs, cluster, task.taskArns, signal).catch(async (err: unknown) => {
      // Lines already read must still be shown exactly once.
      follower.deliver(await logsRead);
      throw err;
    });
    const lines = await logsRead;
    if (described.length === 0) {
      // Right after RunTask, DescribeTasks may not see the task yet (eventual consistency).
      if (++missingPolls >= MISSING_POLLS_LIMIT) {
        // MISSING is the failure reason DescribeTasks gives for a task it does not know.
        const failures = task.taskArns.map((arn) => `${arn}: MISSING`);
        throw new OperationError(`DescribeTasks cannot find the task: ${failures.join('; ')}`);
      }
    } else {
      missingPolls = 0;
      tasks = described;
    }
    return { tasks, lines };
  };
}

/** What the watch shows: a line per status change, the task's log lines, a heartbeat while nothing changes. */
class ProgressReport {
  private status: string;
  private readonly heartbeat: Heartbeat;
  private readonly follower: LogStreamFollower;
  private readonly log: Log;

  constructor(watch: TaskWatch) {
    this.follower = watch.follower;
    this.log = watch.log;
    this.status = describeStatus(watch.task.tasks);
    this.heartbeat = new Heartbeat(
      watch.timing.heartbeatMs,
      (quietMs) => this.log.info(`... still ${this.status} (no change for ${formatDuration(quietMs)})`),
      watch.clock,
    );
  }

  /** Shows one poll's news; returns whether there was any. */
  show(tasks: Task[], lines: LogLine[]): boolean {
    const now = describeStatus(tasks);
    const statusChanged = now !== this.status;
    if (statusChanged) {
      this.status = now;
      this.log.info(`Task ${this.status}`);
    }
    const newLines = this.follower.deliver(lines);
    const changed = statusChanged || newLines > 0;
    if (changed) this.heartbeat.changed();
    else this.heartbeat.tick();
    return changed;
  }
}

function describeStatus(tasks: Task[]): string {
  return tasks
    .map((t) => {
      const containers = (t.containers ?? [])
        .map(
          (c) => `${c.name} ${c.lastStatus ?? '?'}${c.exitCode !== undefined ? ` (exit ${c.exitCode})` : ''}`,
        )
        .join(', ');
      return `${t.lastStatus ?? 'PROVISIONING'}${containers ? ` [${containers}]` : ''}`;
    })
    .join('; ');
}
