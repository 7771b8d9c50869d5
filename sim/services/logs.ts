/**
 * CloudWatch Logs API (JSON 1.1, X-Amz-Target Logs_20140328.*), read side:
 * GetLogEvents, FilterLogEvents, DescribeLogStreams, DescribeLogGroups.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
 *
 * GetLogEvents tokens: "f/<n>" and "b/<n>" point between events of the
 * stream. A forward page returns events after the position; at the end of
 * the stream the same token comes back (as documented), so a follower polls
 * with it until new events arrive. Without a token, startFromHead=false
 * (the default) returns the newest events.
 */
import type { LogEvent, LogGroup, LogStream, LogsStore } from '../logs-store.js';
import { AwsError, type SimService } from '../service.js';

type Params = Record<string, unknown>;

const MAX_EVENTS = 10_000;

function token(direction: 'f' | 'b', position: number): string {
  return `${direction}/${String(position).padStart(56, '0')}`;
}

function parseToken(value: string): { direction: 'f' | 'b'; position: number } {
  const match = /^([fb])\/(\d+)$/.exec(value);
  if (!match) throw new AwsError('InvalidParameterException', 'The specified nextToken is invalid.');
  return { direction: match[1] as 'f' | 'b', position: Number(match[2]) };
}

export class LogsService implements SimService {
  readonly name = 'logs';
  readonly jsonTargetPrefix = 'Logs_20140328';
  readonly mutating = new Set<string>([]);

  constructor(
    private readonly store: LogsStore,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  /**
   * The log group's ARN without the trailing `:*` (LogGroup `logGroupArn`);
   * `arn` adds it, and a stream's ARN appends `:log-stream:NAME`, as
   * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html
   * and API_LogStream.html document them.
   */
  private groupArn(name: string): string {
    return `arn:aws:logs:${this.region}:${this.accountId}:log-group:${name}`;
  }

  handle(operation: string, params: Params): unknown {
    switch (operation) {
      case 'GetLogEvents':
        return this.getLogEvents(params);
      case 'FilterLogEvents':
        return this.filterLogEvents(params);
      case 'DescribeLogStreams':
        return this.describeLogStreams(params);
      case 'DescribeLogGroups':
        return this.describeLogGroups(params);
      default:
        throw new AwsError(
          'UnknownOperationException',
          `The operation ${operation} is not supported by this simulator.`,
        );
    }
  }

  private group(params: Params): LogGroup {
    const ref = (params.logGroupName ?? params.logGroupIdentifier) as string | undefined;
    if (!ref)
      throw new AwsError(
        'InvalidParameterException',
        'logGroupName or logGroupIdentifier must be specified.',
      );
    // logGroupIdentifier may be an ARN: arn:aws:logs:region:account:log-group:NAME[:*]
    const name = ref.startsWith('arn:') ? ref.split(':')[6] : ref;
    const group = this.store.groups.get(name);
    if (!group) throw new AwsError('ResourceNotFoundException', 'The specified log group does not exist.');
    return group;
  }

  private limit(params: Params): number {
    const limit = params.limit === undefined ? MAX_EVENTS : Number(params.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS) {
      throw new AwsError('InvalidParameterException', `limit must be between 1 and ${MAX_EVENTS}.`);
    }
    return limit;
  }

  private static inRange(params: Params) {
    const start = params.startTime as number | undefined;
    const end = params.endTime as number | undefined;
    return (e: LogEvent) =>
      (start === undefined || e.timestamp >= start) && (end === undefined || e.timestamp < end);
  }

  /** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html */
  private getLogEvents(params: Params): Params {
    const group = this.group(params);
    const stream = group.streams.get(params.logStreamName as string);
    if (!stream) throw new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.');
    const events = stream.events.filter(LogsService.inRange(params));
    const limit = this.limit(params);
    let from: number;
    let to: number;
    if (typeof params.nextToken === 'string' && params.nextToken) {
      const { direction, position } = parseToken(params.nextToken);
      const at = Math.min(position, events.length);
      if (direction === 'f') {
        from = at;
        to = Math.min(events.length, at + limit);
      } else {
        to = at;
        from = Math.max(0, at - limit);
      }
      if (from === to) {
        // End of the stream in this direction: the same token comes back.
        return {
          events: [],
          nextForwardToken: direction === 'f' ? params.nextToken : token('f', at),
          nextBackwardToken: direction === 'b' ? params.nextToken : token('b', at),
        };
      }
    } else if (params.startFromHead === true) {
      from = 0;
      to = Math.min(events.length, limit);
    } else {
      to = events.length;
      from = Math.max(0, to - limit);
    }
    return {
      events: events
        .slice(from, to)
        .map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
      nextForwardToken: token('f', to),
      nextBackwardToken: token('b', from),
    };
  }

  /** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html */
  private filterLogEvents(params: Params): Params {
    const group = this.group(params);
    const names = params.logStreamNames as string[] | undefined;
    const prefix = params.logStreamNamePrefix as string | undefined;
    if (names?.length && prefix) {
      throw new AwsError(
        'InvalidParameterException',
        'logStreamNames and logStreamNamePrefix are mutually exclusive.',
      );
    }
    const streams = [...group.streams.values()].filter(
      (s) => (!names?.length || names.includes(s.name)) && (!prefix || s.name.startsWith(prefix)),
    );
    const terms = FilterPattern.parse(params.filterPattern as string | undefined);
    const inRange = LogsService.inRange(params);
    const matched: { stream: LogStream; event: LogEvent; index: number }[] = [];
    for (const stream of streams) {
      stream.events.forEach((event, index) => {
        if (inRange(event) && terms.matches(event.message)) matched.push({ stream, event, index });
      });
    }
    matched.sort(
      (a, b) =>
        a.event.timestamp - b.event.timestamp ||
        a.stream.name.localeCompare(b.stream.name) ||
        a.index - b.index,
    );
    const start =
      typeof params.nextToken === 'string' && params.nextToken
        ? Number(Buffer.from(params.nextToken, 'base64').toString())
        : 0;
    const limit = this.limit(params);
    const slice = matched.slice(start, start + limit);
    const next =
      start + limit < matched.length ? Buffer.from(String(start + limit)).toString('base64') : undefined;
    return {
      events: slice.map(({ stream, event, index }) => ({
        logStreamName: stream.name,
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: event.ingestionTime,
        eventId: `${event.timestamp}${String(index).padStart(20, '0')}`,
      })),
      searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
      nextToken: next,
    };
  }

  /** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogStreams.html */
  private describeLogStreams(params: Params): Params {
    const group = this.group(params);
    const prefix = params.logStreamNamePrefix as string | undefined;
    const orderBy = (params.orderBy as string | undefined) ?? 'LogStreamName';
    if (orderBy === 'LastEventTime' && prefix) {
      throw new AwsError(
        'InvalidParameterException',
        'Cannot order by LastEventTime with a logStreamNamePrefix.',
      );
    }
    let streams = [...group.streams.values()].filter((s) => !prefix || s.name.startsWith(prefix));
    const last = (s: LogStream) => s.events.at(-1)?.timestamp ?? 0;
    streams.sort((a, b) => (orderBy === 'LastEventTime' ? last(a) - last(b) : a.name.localeCompare(b.name)));
    if (params.descending === true) streams = streams.reverse();
    const limit = params.limit === undefined ? 50 : Number(params.limit);
    const start =
      typeof params.nextToken === 'string' && params.nextToken
        ? Number(Buffer.from(params.nextToken, 'base64').toString())
        : 0;
    const next =
      start + limit < streams.length ? Buffer.from(String(start + limit)).toString('base64') : undefined;
    return {
      logStreams: streams.slice(start, start + limit).map((s) => ({
        logStreamName: s.name,
        creationTime: s.createdAt,
        firstEventTimestamp: s.events[0]?.timestamp,
        lastEventTimestamp: s.events.at(-1)?.timestamp,
        lastIngestionTime: s.events.at(-1)?.ingestionTime,
        arn: `${this.groupArn(group.name)}:log-stream:${s.name}`,
        storedBytes: 0,
      })),
      nextToken: next,
    };
  }

  /** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html */
  private describeLogGroups(params: Params): Params {
    const prefix = params.logGroupNamePrefix as string | undefined;
    const groups = [...this.store.groups.values()]
      .filter((g) => !prefix || g.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      logGroups: groups.map((g) => ({
        logGroupName: g.name,
        creationTime: g.createdAt,
        storedBytes: 0,
        arn: `${this.groupArn(g.name)}:*`,
        logGroupArn: this.groupArn(g.name),
      })),
    };
  }
}

/**
 * The subset of the filter pattern syntax for unstructured logs that the
 * simulator understands: terms (all must occur), "quoted phrases", and
 * ?alternatives (any must occur). Empty matches everything.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
class FilterPattern {
  private constructor(
    private readonly all: string[],
    private readonly any: string[],
  ) {}

  static parse(pattern: string | undefined): FilterPattern {
    const all: string[] = [];
    const any: string[] = [];
    for (const match of (pattern ?? '').matchAll(/(\?)?(?:"([^"]*)"|(\S+))/g)) {
      const term = match[2] ?? match[3];
      if (match[1]) any.push(term);
      else all.push(term);
    }
    return new FilterPattern(all, any);
  }

  matches(message: string): boolean {
    return (
      this.all.every((t) => message.includes(t)) &&
      (this.any.length === 0 || this.any.some((t) => message.includes(t)))
    );
  }
}
