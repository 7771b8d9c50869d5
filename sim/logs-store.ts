/**
 * CloudWatch Logs storage: groups of streams of events in time order. The
 * ECS engine writes a container's lines here when its task definition uses
 * the awslogs driver, to stream `<awslogs-stream-prefix>/<container>/<task-id>`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html).
 * Groups are created on first write, as with `awslogs-create-group: true`.
 */
export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface LogStream {
  name: string;
  createdAt: number;
  events: LogEvent[];
}

export interface LogGroup {
  name: string;
  createdAt: number;
  streams: Map<string, LogStream>;
}

/** Bound per stream so a crash-looping service cannot grow memory without end. */
const MAX_EVENTS_PER_STREAM = 10_000;

export class LogsStore {
  readonly groups = new Map<string, LogGroup>();

  constructor(private readonly now: () => number) {}

  write(groupName: string, streamName: string, message: string, timestamp = this.now()): void {
    let group = this.groups.get(groupName);
    if (!group) {
      group = { name: groupName, createdAt: this.now(), streams: new Map() };
      this.groups.set(groupName, group);
    }
    let stream = group.streams.get(streamName);
    if (!stream) {
      stream = { name: streamName, createdAt: this.now(), events: [] };
      group.streams.set(streamName, stream);
    }
    stream.events.push({ timestamp, message, ingestionTime: Math.max(timestamp, this.now()) });
    if (stream.events.length > MAX_EVENTS_PER_STREAM) stream.events.shift();
  }
}
