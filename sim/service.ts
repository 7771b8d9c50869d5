/**
 * The contract between the simulator's HTTP front (sim/server.ts) and each
 * AWS service it simulates (sim/services/*.ts). The front parses the wire
 * protocol, records the call, injects faults, and serializes the reply or
 * the error in the shape the AWS SDK expects; a service only sees an
 * operation name and its parameters.
 */
import type { Scenario } from './scenario.js';

/** An AWS error reply: the SDK maps `code` to its exception class. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Members of the error shape besides the message, e.g. ConflictException's resourceIds (JSON services). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface SimContext {
  readonly region: string;
  readonly accountId: string;
  readonly scenario: Scenario;
  /** Simulated time, epoch milliseconds. */
  now(): number;
  /** Records a ground-truth state change for GET /_sim/events. */
  event(kind: string, detail: Record<string, unknown>): void;
}

export interface SimService {
  /** Short name used in the call log, events and fault specs: "ecs", "elbv2", "ecr", "logs", "cloudformation". */
  readonly name: string;
  /** JSON 1.1 services: the X-Amz-Target prefix before the dot, e.g. "AmazonEC2ContainerServiceV20141113". */
  readonly jsonTargetPrefix?: string;
  /** Query services: the Version parameter, e.g. "2015-12-01" for ELBv2. */
  readonly queryVersion?: string;
  /** Query services: the XML namespace of replies. */
  readonly xmlNamespace?: string;
  /** Operations that change state (the call log marks them, so tests can prove none was made). */
  readonly mutating: ReadonlySet<string>;
  /** Returns the operation's output; throws AwsError for AWS errors. */
  handle(operation: string, params: Record<string, unknown>): Promise<unknown> | unknown;
}

/** One call as a gate sees it, before the service does. */
export interface GatedCall {
  /** The service's short name ("ecs", "elbv2", ...). */
  readonly service: string;
  readonly operation: string;
  readonly params: Record<string, unknown>;
  /** The request's headers (e.g. `authorization`, with the SigV4 credential scope). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Checks every call before its service sees it (after injected faults), as
 * AWS checks a request before the API acts on it: authorization, rate limits.
 * Throws AwsError to refuse the call; returns fields to add to the call log.
 */
export interface CallGate {
  check(call: GatedCall): Record<string, unknown> | void;
}
