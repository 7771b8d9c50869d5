/**
 * Follows CloudWatch Logs streams live with GetLogEvents and its forward
 * token, so that every event is delivered exactly once and in order: a
 * token is only advanced past events that were handed to the sink.
 *
 * Streams are polled together; a stream that does not exist yet (the
 * awslogs driver creates it when the container starts) is simply retried on
 * the next poll. After the producer stops, drain() polls until the streams
 * stay quiet, because CloudWatch ingests the last lines with some delay.
 */
import {
  GetLogEventsCommand,
  ResourceNotFoundException,
  type CloudWatchLogsClient,
} from '@aws-sdk/client-cloudwatch-logs';
import { errorMessage } from './errors.js';
import { systemClock, type Clock } from './time.js';

export interface LogStreamRef {
  logGroupName: string;
  logStreamName: string;
  /** Shown before each line when several streams are followed (e.g. the container name). */
  label: string;
}

export interface LogLine {
  label: string;
  /** Event time, epoch ms. */
  timestamp: number;
  message: string;
}

export interface LogStreamOptions {
  /** Receives every new line, in order: per stream exactly in stream order, across streams by timestamp. */
  onLine?: (line: LogLine) => void;
  /** Instead of onLine: the new lines of one poll together, in the same order (never called empty). */
  onLines?: (lines: LogLine[]) => void;
  /** Reports a stream that cannot be read (other than "does not exist yet"); once per stream and error. */
  onWarning?: (message: string) => void;
  /** How many recent lines to keep per stream for failure reports (default 50). */
  keepLast?: number;
  /** Safety cap on pages read from one stream in one poll (default 100). */
  maxPagesPerPoll?: number;
  /** What drain() waits by (default the system clock; unit tests pass a fake one). */
  clock?: Clock;
}

export interface DrainOptions {
  /** Stop after this many consecutive polls that found nothing (default 2). */
  quietPolls?: number;
  /** Pause between drain polls (default 1000 ms). */
  intervalMs?: number;
  /** Give up draining after this long (default 15 s). */
  maxMs?: number;
}

interface StreamState {
  ref: LogStreamRef;
  client: CloudWatchLogsClient;
  /** The forward token after the last delivered event; undefined before the first successful read. */
  token?: string;
  /** Whether GetLogEvents has found the stream yet. */
  found: boolean;
  recent: string[];
  lastWarning?: string;
  delivered: number;
}

export class LogStreamFollower {
  private readonly streams = new Map<string, StreamState>();
  private readonly keepLast: number;
  private readonly maxPages: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly options: LogStreamOptions,
  ) {
    this.keepLast = options.keepLast ?? 50;
    this.maxPages = options.maxPagesPerPoll ?? 100;
    this.clock = options.clock ?? systemClock;
  }

  /** Starts following streams; a stream already followed is ignored. */
  add(...refs: LogStreamRef[]): void {
    for (const ref of refs) this.addVia(this.client, ref);
  }

  /** Follows a stream through another client (a log group in another region). */
  addVia(client: CloudWatchLogsClient, ref: LogStreamRef): void {
    const key = `${ref.logGroupName}\u0000${ref.logStreamName}`;
    if (!this.streams.has(key))
      this.streams.set(key, { ref, client, found: false, recent: [], delivered: 0 });
  }

  get refs(): LogStreamRef[] {
    return [...this.streams.values()].map((s) => s.ref);
  }

  /** Reads every stream once up to its current end and delivers the new lines. Returns how many. */
  async poll(signal?: AbortSignal): Promise<number> {
    return this.deliver(await this.fetch(signal));
  }

  /**
   * Reads the new lines of every stream without delivering them yet, so a
   * caller can print what it learnt elsewhere in the same poll first. Every
   * fetched batch must be passed to deliver(): the tokens have moved past it.
   * Never rejects; on abort it returns what was read before.
   */
  async fetch(signal?: AbortSignal): Promise<LogLine[]> {
    const states = [...this.streams.values()];
    return mergeByTime(await Promise.all(states.map((state) => this.read(state, signal))));
  }

  deliver(lines: LogLine[]): number {
    if (lines.length > 0) this.options.onLines?.(lines);
    for (const line of lines) this.options.onLine?.(line);
    return lines.length;
  }

  /** Polls until the streams stay quiet: the final lines of a stopped task arrive late. */
  async drain(options: DrainOptions = {}, signal?: AbortSignal): Promise<void> {
    const quietPolls = options.quietPolls ?? 2;
    const intervalMs = options.intervalMs ?? 1000;
    const until = this.clock.now() + (options.maxMs ?? 15_000);
    let quiet = 0;
    for (;;) {
      quiet = (await this.poll(signal)) > 0 ? 0 : quiet + 1;
      if (quiet >= quietPolls || this.clock.now() + intervalMs > until) return;
      await this.clock.sleep(intervalMs, signal);
    }
  }

  /** The most recent lines of one stream (by label), or of all streams merged when no label is given. */
  lastLines(label?: string, count = this.keepLast): string[] {
    const states = [...this.streams.values()].filter((s) => label === undefined || s.ref.label === label);
    if (states.length === 1) return states[0]!.recent.slice(-count);
    return states.flatMap((s) => s.recent.map((m) => `[${s.ref.label}] ${m}`)).slice(-count);
  }

  /** Streams that were never found (the container never logged, or the log configuration is wrong). */
  missing(): LogStreamRef[] {
    return [...this.streams.values()].filter((s) => !s.found).map((s) => s.ref);
  }

  /** Lines delivered per label. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of this.streams.values()) counts[s.ref.label] = (counts[s.ref.label] ?? 0) + s.delivered;
    return counts;
  }

  private async read(state: StreamState, signal?: AbortSignal): Promise<LogLine[]> {
    const lines: LogLine[] = [];
    try {
      for (let page = 0; page < this.maxPages; page++) {
        const reply = await state.client.send(
          new GetLogEventsCommand({
            logGroupName: state.ref.logGroupName,
            logStreamName: state.ref.logStreamName,
            startFromHead: true,
            ...(state.token ? { nextToken: state.token } : {}),
          }),
          { abortSignal: signal },
        );
        state.found = true;
        for (const event of reply.events ?? []) {
          const message = (event.message ?? '').replace(/\r?\n$/, '');
          lines.push({ label: state.ref.label, timestamp: event.timestamp ?? 0, message });
        }
        const next = reply.nextForwardToken;
        // The end of the stream: AWS returns the token that was passed in.
        const atEnd = !next || next === state.token;
        if (next) state.token = next;
        if (atEnd) break;
      }
    } catch (err) {
      // Aborted or not, never throw: the token has already moved past the lines read so far.
      // The awslogs driver creates the stream when the container starts: not found is normal.
      if (!signal?.aborted && !(err instanceof ResourceNotFoundException)) {
        const warning = `cannot read log stream ${state.ref.logGroupName}/${state.ref.logStreamName}: ${errorMessage(err)}`;
        if (warning !== state.lastWarning) this.options.onWarning?.(warning);
        state.lastWarning = warning;
      }
    }
    // Lines read before an error on a later page are still delivered: the token already moved past them.
    state.delivered += lines.length;
    state.recent.push(...lines.map((l) => l.message));
    if (state.recent.length > this.keepLast) state.recent.splice(0, state.recent.length - this.keepLast);
    return lines;
  }
}

/**
 * Merges per-stream line lists by timestamp. Each stream's own order is kept
 * even if its timestamps are not monotonic: only list heads are compared.
 */
export function mergeByTime(perStream: LogLine[][]): LogLine[] {
  const heads = perStream.map(() => 0);
  const merged: LogLine[] = [];
  for (;;) {
    let pick = -1;
    for (let s = 0; s < perStream.length; s++) {
      const line = perStream[s]![heads[s]!];
      if (line && (pick < 0 || line.timestamp < perStream[pick]![heads[pick]!]!.timestamp)) pick = s;
    }
    if (pick < 0) return merged;
    merged.push(perStream[pick]![heads[pick]!]!);
    heads[pick] = heads[pick]! + 1;
  }
}
