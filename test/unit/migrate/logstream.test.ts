import { describe, expect, it } from '@jest/globals';
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  ResourceNotFoundException,
  type GetLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { LogStreamFollower, mergeByTime, type LogLine } from '../../../lib/logstream.js';
import { manualClock } from '../../../lib/time.js';

/**
 * GetLogEvents as AWS documents it: pages of at most `pageSize` events from
 * the token's position; at the end of the stream the reply carries the token
 * that was passed in. A stream that does not exist raises ResourceNotFoundException.
 */
function fakeLogs(pageSize = 3) {
  const streams = new Map<string, { timestamp: number; message: string }[]>();
  const mock = mockClient(CloudWatchLogsClient);
  const calls: GetLogEventsCommandInput[] = [];
  mock.on(GetLogEventsCommand).callsFake((input: GetLogEventsCommandInput) => {
    calls.push(input);
    const events = streams.get(`${input.logGroupName}|${input.logStreamName}`);
    if (!events)
      throw new ResourceNotFoundException({
        message: 'The specified log stream does not exist.',
        $metadata: {},
      });
    expect(input.startFromHead).toBe(true);
    const from = input.nextToken ? Number(input.nextToken.slice(2)) : 0;
    const page = events.slice(from, from + pageSize);
    return { events: page, nextForwardToken: `f/${String(from + page.length).padStart(5, '0')}` };
  });
  return {
    client: new CloudWatchLogsClient({ region: 'us-east-1' }),
    calls,
    write(group: string, stream: string, ...lines: [number, string][]) {
      const key = `${group}|${stream}`;
      if (!streams.has(key)) streams.set(key, []);
      streams.get(key)!.push(...lines.map(([timestamp, message]) => ({ timestamp, message })));
    },
    restore: () => mock.restore(),
  };
}

describe('LogStreamFollower', () => {
  it('delivers every line exactly once and in order across polls and pages', async () => {
    const logs = fakeLogs(2);
    const got: LogLine[] = [];
    const follower = new LogStreamFollower(logs.client, { onLine: (l) => got.push(l), clock: manualClock() });
    follower.add({ logGroupName: 'g', logStreamName: 'migrations/app/t1', label: 'app' });

    expect(await follower.poll()).toBe(0); // stream not created yet
    logs.write('g', 'migrations/app/t1', [1, 'one\n'], [2, 'two'], [3, 'three']);
    expect(await follower.poll()).toBe(3);
    expect(await follower.poll()).toBe(0);
    logs.write('g', 'migrations/app/t1', [4, 'four'], [5, 'five'], [6, 'six'], [7, 'seven']);
    expect(await follower.poll()).toBe(4);
    logs.write('g', 'migrations/app/t1', [8, 'eight']);
    await follower.drain({ intervalMs: 1, quietPolls: 2 });

    expect(got.map((l) => l.message)).toEqual([
      'one',
      'two',
      'three',
      'four',
      'five',
      'six',
      'seven',
      'eight',
    ]);
    expect(follower.lastLines('app', 2)).toEqual(['seven', 'eight']);
    expect(follower.counts()).toEqual({ app: 8 });
    expect(follower.missing()).toEqual([]);
    // Every call after the first read continues from the last forward token.
    const tokens = logs.calls.map((c) => c.nextToken).filter(Boolean);
    expect(tokens.length).toBeGreaterThan(0);
    logs.restore();
  });

  it('merges several streams by time, keeping each stream in its own order', async () => {
    const logs = fakeLogs(10);
    const got: string[] = [];
    const follower = new LogStreamFollower(logs.client, {
      onLine: (l) => got.push(`${l.label}:${l.message}`),
    });
    follower.add(
      { logGroupName: 'g', logStreamName: 'p/app/t', label: 'app' },
      { logGroupName: 'g', logStreamName: 'p/sidecar/t', label: 'sidecar' },
    );
    logs.write('g', 'p/app/t', [10, 'a1'], [30, 'a2']);
    logs.write('g', 'p/sidecar/t', [20, 's1'], [30, 's2']);
    await follower.poll();
    expect(got).toEqual(['app:a1', 'sidecar:s1', 'app:a2', 'sidecar:s2']);
    expect(follower.lastLines()).toEqual(['[app] a1', '[app] a2', '[sidecar] s1', '[sidecar] s2']);
    logs.restore();
  });

  it('reports a stream that was never created, and warns once on other errors', async () => {
    const logs = fakeLogs();
    const warnings: string[] = [];
    const follower = new LogStreamFollower(logs.client, {
      onLine: () => undefined,
      onWarning: (w) => warnings.push(w),
      clock: manualClock(),
    });
    follower.add({ logGroupName: 'g', logStreamName: 'never', label: 'x' });
    await follower.drain({ intervalMs: 1 });
    expect(follower.missing().map((m) => m.logStreamName)).toEqual(['never']);
    expect(warnings).toEqual([]);
    logs.restore();

    const denied = mockClient(CloudWatchLogsClient);
    denied
      .on(GetLogEventsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const follower2 = new LogStreamFollower(
      new CloudWatchLogsClient({ region: 'us-east-1', maxAttempts: 1 }),
      {
        onLine: () => undefined,
        onWarning: (w) => warnings.push(w),
      },
    );
    follower2.add({ logGroupName: 'g', logStreamName: 's', label: 'x' });
    await follower2.poll();
    await follower2.poll();
    expect(warnings).toEqual(['cannot read log stream g/s: not authorized']);
    denied.restore();
  });

  it('keeps the lines read before an abort, and continues after them', async () => {
    const events = ['a', 'b', 'c', 'd'].map((message, i) => ({ timestamp: i, message }));
    const controller = new AbortController();
    const mock = mockClient(CloudWatchLogsClient);
    let call = 0;
    mock.on(GetLogEventsCommand).callsFake(async (input: GetLogEventsCommandInput) => {
      if (++call === 2) {
        controller.abort('received SIGINT');
        throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
      }
      const from = input.nextToken ? Number(input.nextToken.slice(2)) : 0;
      const page = events.slice(from, from + 2);
      return { events: page, nextForwardToken: `f/${from + page.length}` };
    });
    const got: string[] = [];
    const warnings: string[] = [];
    const follower = new LogStreamFollower(new CloudWatchLogsClient({ region: 'us-east-1' }), {
      onLine: (l) => got.push(l.message),
      onWarning: (w) => warnings.push(w),
      clock: manualClock(),
    });
    follower.add({ logGroupName: 'g', logStreamName: 's', label: 'x' });
    follower.deliver(await follower.fetch(controller.signal));
    expect(got).toEqual(['a', 'b']);
    await follower.drain({ intervalMs: 1 });
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(warnings).toEqual([]);
    mock.restore();
  });

  it('ignores a stream added twice', async () => {
    const logs = fakeLogs();
    const got: string[] = [];
    const follower = new LogStreamFollower(logs.client, { onLine: (l) => got.push(l.message) });
    const ref = { logGroupName: 'g', logStreamName: 's', label: 'x' };
    follower.add(ref, ref);
    follower.add(ref);
    logs.write('g', 's', [1, 'only once']);
    await follower.poll();
    expect(got).toEqual(['only once']);
    logs.restore();
  });
});

describe('mergeByTime', () => {
  it('never reorders lines of one stream, even with non-monotonic timestamps', () => {
    const line = (label: string, timestamp: number) => ({
      label,
      timestamp,
      message: `${label}${timestamp}`,
    });
    const merged = mergeByTime([
      [line('a', 5), line('a', 1), line('a', 9)],
      [line('b', 3), line('b', 6)],
    ]);
    expect(merged.map((l) => l.message)).toEqual(['b3', 'a5', 'a1', 'b6', 'a9']);
  });
});
