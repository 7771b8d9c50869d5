/**
 * Step 3 of a migration: watch the task (its containers' logs live, its status)
 * until it stops. Only the timeout or a cancellation stops it: a read that
 * fails (an AWS outage) is retried, backing off, until then, because cutting
 * a migration off half-way is worse than not seeing it for a while. Waiting
 * (poll, deadline, sleep on an injected Clock) is kept apart from reporting
 * (status lines, log lines, heartbeat, outage notes).
 */
import type { ContainerDefinition, ECSClient, Task } from '@aws-sdk/client-ecs';
import { outageBackoffMs, withDeadline } from '../aws/retry.js';
import { awslogsStreamFor } from '../cwlogs.js';
import { describeTasks, taskId } from '../ecs/tasks.js';
import { CancelledError, OperationError, awsErrorText, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import type { LogLine, LogStreamFollower } from '../logstream.js';
import { AdaptiveInterval, Heartbeat, formatDuration, type Clock } from '../time.js';
import type { LogLinePrinter, MigrationClients, MigrationResult, MigrationTiming } from './run.js';
import { STOP_REASON_PREFIX, STOP_RETRY_WINDOW_MS, stopTasks, type StartedTask } from './start.js';

/** What the watch works with. */
export interface TaskWatch {
  ecs: ECSClient;
  /** Without SDK retries: StopTask and the wait after a cancellation end by their deadline. */
  ecsOnce: ECSClient;
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
  /** When DescribeTasks last answered (clock time); unset when it never did. */
  readAt?: number;
  /** Set when migrate stopped the task itself. */
  stoppedBy?: MigrationResult['stoppedBy'];
  /** Why migrate stopped it, and whether it then stopped. */
  stopProblem?: string;
}

/** DescribeTasks answering without the task this many polls in a row is an error, not lag. */
const MISSING_POLLS_LIMIT = 10;

/** The watch's deadline passed; `seen` is the task as last read. */
class TimedOut extends Error {
  constructor(readonly seen?: Seen) {
    super('timed out');
  }
}

/** The signal aborted while watching; `seen` is the task as last read. */
class WatchCancelled extends CancelledError {
  constructor(
    message: string,
    readonly seen: Seen,
  ) {
    super(message);
  }
}

/** ECS answers that it does not know the task RunTask returned (MISSING), poll after poll. */
export class TaskNotFound extends OperationError {}

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
    // A stream that cannot be read costs lines, never the migration: it is still followed and judged.
    onWarning: (m) => log.warning(`${m} (log streaming degraded; the task is still followed and judged)`),
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
    // The last lines reach CloudWatch after the container exits; a throttled Logs API must not hold the end.
    const drain = outcome.stoppedBy === 'cancellation' ? { ...timing.drain, maxMs: 1000 } : timing.drain;
    await follower
      .drain(drain, AbortSignal.timeout(drain.maxMs ?? 15_000))
      .catch((err: unknown) => log.warning(`reading the last log lines: ${errorMessage(err)}`));
    return outcome;
  });
}

async function watchUntilStopped(
  watch: TaskWatch,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<WatchOutcome> {
  const { ecsOnce, cluster, task, log, clock } = watch;
  try {
    return await waitForStop(watch, task.started + timeoutSeconds * 1000, { purpose: 'end' }, signal);
  } catch (err) {
    if (err instanceof TaskNotFound) {
      // ECS does not know the task RunTask returned: stop it in case it shows up later.
      await stopTasks(ecsOnce, cluster, task.taskArns, `${STOP_REASON_PREFIX}: cannot follow the task`, log, {
        withinMs: STOP_RETRY_WINDOW_MS,
        clock,
      });
    }
    if (!(err instanceof CancelledError || signal?.aborted || err instanceof TimedOut)) throw err;
    const why =
      err instanceof TimedOut
        ? `timed out after ${timeoutSeconds}s`
        : `workflow cancelled (${/SIG[A-Z]+/.exec(String(signal?.reason))?.[0] ?? 'aborted'})`;
    return stopAndAwait(watch, err instanceof TimedOut ? 'timeout' : 'cancellation', why, err);
  }
}

/**
 * StopTask with the reason (retried), then a bounded wait for STOPPED. On
 * cancellation both end within timing.cancelStopWaitMs of the signal: the
 * runner sends SIGTERM 7.5 s after SIGINT and SIGKILL 2.5 s later.
 */
async function stopAndAwait(
  watch: TaskWatch,
  stoppedBy: NonNullable<WatchOutcome['stoppedBy']>,
  why: string,
  ending: unknown,
): Promise<WatchOutcome> {
  const { ecsOnce, cluster, task, log, timing, clock } = watch;
  const waitMs = stoppedBy === 'timeout' ? timing.stopWaitMs : timing.cancelStopWaitMs;
  const deadline = clock.now() + waitMs;
  const last = ending instanceof TimedOut || ending instanceof WatchCancelled ? ending.seen : undefined;
  const seen: Seen = last ?? { tasks: task.tasks };
  log.warning(`${why}: stopping task ${task.firstId}`);
  const stop = await stopTasks(ecsOnce, cluster, task.taskArns, `${STOP_REASON_PREFIX}: ${why}`, log, {
    withinMs: Math.min(STOP_RETRY_WINDOW_MS, waitMs * 0.6),
    clock,
  });
  if (stop.refused.length > 0) {
    const errors = stop.refused.map((r) => `${taskId(r.taskArn)}: ${r.error}`).join('; ');
    const stopProblem = `${why}; the stop could not be confirmed (StopTask ${errors}): the task may still be running`;
    return { ...seen, stoppedBy, stopProblem };
  }
  // After a cancellation every read must end by the deadline: no SDK retries, the watch's own backoff.
  const reader = stoppedBy === 'cancellation' ? { ...watch, ecs: ecsOnce } : watch;
  try {
    const stopped = await waitForStop(reader, deadline, { purpose: 'stop', seen });
    return { ...stopped, stoppedBy, stopProblem: `${why}; the task was stopped` };
  } catch (err) {
    if (!(err instanceof TimedOut)) throw err;
    const stopProblem = `${why}; the task had not reached STOPPED ${formatDuration(waitMs)} after StopTask`;
    return { ...(err.seen ?? seen), stoppedBy, stopProblem };
  }
}

/** Waiting for the task to end by itself, or for it to stop after StopTask. */
type WaitPurpose = 'end' | 'stop';

/** The task as last read: its tasks and when DescribeTasks answered (clock time). */
interface Seen {
  tasks: Task[];
  readAt?: number;
}

/**
 * Polls the task and its logs until every task is STOPPED; TimedOut at the
 * deadline, CancelledError when the signal aborts (each carrying what was
 * seen). A failed read never ends the watch: it backs off and reads again.
 */
async function waitForStop(
  watch: TaskWatch,
  deadline: number,
  waiting: { purpose: WaitPurpose; seen?: Seen },
  signal?: AbortSignal,
): Promise<{ tasks: Task[]; readAt?: number }> {
  const { timing, clock } = watch;
  const interval = new AdaptiveInterval(timing.pollMinMs, timing.pollMaxMs);
  const outage = new ReadOutage(watch, deadline, waiting.purpose);
  const progress = new ProgressReport(watch);
  const poll = taskPoller(watch);
  const seen: Seen = { ...(waiting.seen ?? { tasks: watch.task.tasks }) };
  for (;;) {
    // Each read ends by the deadline, whatever the SDK's retries would do, and at once on cancellation.
    const read = await poll(withDeadline(signal, Math.max(deadline - clock.now(), timing.pollMinMs)));
    if (signal?.aborted) throw new WatchCancelled(String(signal.reason), seen);
    let waitMs: number;
    if ('error' in read) {
      progress.showLines(read.lines);
      waitMs = outage.failed(read.error);
    } else {
      outage.answered();
      Object.assign(seen, { tasks: read.tasks, readAt: clock.now() });
      const changed = progress.show(read.tasks, read.lines);
      if (read.tasks.length > 0 && read.tasks.every((t) => t.lastStatus === 'STOPPED')) return { ...seen };
      waitMs = interval.next(changed);
    }
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw new TimedOut(seen);
    try {
      await clock.sleep(Math.min(waitMs, remaining), signal);
    } catch (err) {
      if (err instanceof CancelledError) throw new WatchCancelled(err.message, seen);
      throw err;
    }
  }
}

type PollResult = { tasks: Task[]; lines: LogLine[] } | { error: unknown; lines: LogLine[] };

/**
 * One poll: DescribeTasks and the new log lines, read together. The lines are
 * returned undelivered, so the status is shown before them. A DescribeTasks
 * error is returned, not thrown: the watch decides what it means.
 */
function taskPoller(watch: TaskWatch): (signal: AbortSignal) => Promise<PollResult> {
  const { ecs, cluster, task, follower } = watch;
  let tasks = task.tasks;
  let missingPolls = 0;
  return async (signal) => {
    const logsRead = follower.fetch(signal);
    let described: Task[];
    try {
      described = await describeTasks(ecs, cluster, task.taskArns, signal);
    } catch (error) {
      // Lines already read must still be shown exactly once.
      return { error, lines: await logsRead };
    }
    const lines = await logsRead;
    if (described.length === 0) {
      // Right after RunTask, DescribeTasks may not see the task yet (eventual consistency).
      if (++missingPolls >= MISSING_POLLS_LIMIT) {
        // MISSING is the failure reason DescribeTasks gives for a task it does not know.
        const failures = task.taskArns.map((arn) => `${arn}: MISSING`);
        throw new TaskNotFound(`DescribeTasks cannot find the task: ${failures.join('; ')}`);
      }
    } else {
      missingPolls = 0;
      tasks = described;
    }
    return { tasks, lines };
  };
}

/**
 * A stretch of failed DescribeTasks reads: says so when it starts, now and
 * then while it lasts and when it ends, and backs off between reads
 * (exponential, capped at timing.outageBackoffMaxMs, with jitter so that
 * many runs do not retry in step).
 */
class ReadOutage {
  private since?: number;
  private failures = 0;
  private lastSaid = 0;

  constructor(
    private readonly watch: TaskWatch,
    private readonly deadline: number,
    private readonly purpose: WaitPurpose,
  ) {}

  /** Records a failed read; returns how long to wait before the next one. */
  failed(error: unknown): number {
    const { clock, log, timing, task } = this.watch;
    const now = clock.now();
    this.failures += 1;
    const why = `DescribeTasks failed: ${awsErrorText(error)}`;
    if (this.since === undefined) {
      this.since = now;
      this.lastSaid = now;
      const left = formatDuration(this.deadline - now);
      log.warning(
        this.purpose === 'end'
          ? `Cannot read task ${task.firstId} (${why}). It keeps running: migrate reads it again, backing off, and stops it only at the timeout (in ${left}) or on cancellation`
          : `Cannot read task ${task.firstId} (${why}) while waiting for it to stop: reading it again for ${left}`,
      );
    } else if (now - this.lastSaid >= timing.heartbeatMs) {
      this.lastSaid = now;
      log.info(
        `... task ${task.firstId} unreadable for ${formatDuration(now - this.since)} (${this.failures} failed reads; ${why})`,
      );
    }
    // The first pause is twice the shortest poll interval.
    return outageBackoffMs(this.failures, { minMs: 2 * timing.pollMinMs, maxMs: timing.outageBackoffMaxMs });
  }

  answered(): void {
    if (this.since === undefined) return;
    const { clock, log, task } = this.watch;
    log.info(
      `Task ${task.firstId} readable again after ${formatDuration(clock.now() - this.since)} (${this.failures} failed reads)`,
    );
    this.since = undefined;
    this.failures = 0;
  }
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

  /** Shows the lines of a poll whose status read failed. */
  showLines(lines: LogLine[]): void {
    if (this.follower.deliver(lines) > 0) this.heartbeat.changed();
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
