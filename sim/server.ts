/**
 * The simulator's HTTP front: every AWS service on one 127.0.0.1 port.
 * - JSON 1.1 services are routed by the X-Amz-Target prefix; errors are
 *   `{"__type": code, "message": …}` with the `x-amzn-errortype` header.
 * - Query services are form-encoded POSTs routed by Version and Action;
 *   replies are XML, errors `<ErrorResponse><Error><Type/><Code/><Message/>…`.
 * - S3 (REST-XML) is routed by the signature's service (`…/s3/aws4_request`)
 *   or, unsigned, by being no POST: bucket and key from the path (path style)
 *   or the host (`BUCKET.localhost`, `BUCKET.s3.…`); errors `<Error><Code/>…`.
 * Every call is recorded (GET /_sim/calls), and faults from the scenario or
 * POST /_sim/faults are applied before a call reaches its service (or, for a
 * `lost` fault, after it, in place of the reply).
 *
 * Control API (JSON):
 *   POST /_sim/scenario  body: a Scenario — load it (fresh state)
 *   POST /_sim/reset     reload the current scenario (fresh state, logs cleared)
 *   POST /_sim/faults    body: a FaultSpec or an array of them — add faults
 *   POST /_sim/sessions  body: {roleName|roleArn} — credentials for the role, as an administrator hands them out
 *   GET  /_sim/calls[?since=N]   calls with seq > N
 *   GET  /_sim/events[?since=N]  ground-truth state changes with seq > N
 *   GET  /_sim/state     a snapshot of the whole account
 *   GET  /_sim/throttling  the rate limits' buckets and the calls they refused (sim/throttle.ts)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminSession, type AdminSessionRequest } from './iam/admin.js';
import { parseQuery, queryError, queryResponse, toJsonBody } from './protocol.js';
import type { FaultSpec, Scenario } from './scenario.js';
import { AwsError, type SimService } from './service.js';
import { decodeAwsChunked, s3ErrorBody, s3Operation, type S3Reply } from './services/s3.js';
import { ThrottleGate, type ThrottlingSummary } from './throttle.js';
import { LOG_LIMIT, World } from './world.js';

export interface SimCall {
  seq: number;
  /** Simulated time, ISO 8601. */
  time: string;
  realTime: string;
  realMs: number;
  service: string;
  operation: string;
  params: Record<string, unknown>;
  status: number;
  errorCode?: string;
  fault?: FaultSpec['kind'];
  mutating: boolean;
  /** What the call gates said of it (sim/service.ts CallGate), e.g. the calling principal. */
  gate?: Record<string, unknown>;
}

interface ActiveFault {
  spec: FaultSpec;
  seen: number;
  /** Simulated ms when it was loaded or added: `fromMs`/`untilMs` count from here. */
  addedAt: number;
  /** Simulated ms of the first call it failed: `forMs` counts from here. */
  firstHitAt?: number;
}

/**
 * A fault with `forMs`, `fromMs` or `untilMs` fails every matching call in its
 * window, whatever `count` says: an outage or a sustained throttle, as ECS
 * throttles per account and API for as long as the rate stays above its limit
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
 */
function isTimed(spec: FaultSpec): boolean {
  return spec.forMs !== undefined || spec.fromMs !== undefined || spec.untilMs !== undefined;
}

export class SimServer {
  world: World;
  private readonly server: Server;
  private calls: SimCall[] = [];
  private callSeq = 0;
  private faults: ActiveFault[] = [];
  /** Runs after every (re)load, e.g. to point load balancers at the ALB data plane. */
  onLoad?: (world: World) => Promise<void> | void;

  constructor(
    private scenario: Scenario,
    readonly speed: number,
  ) {
    this.world = new World(scenario, speed);
    this.faults = this.activate(scenario.faults ?? []);
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    this.world.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async load(scenario: Scenario): Promise<void> {
    // Built before the old one stops: a scenario that does not load leaves the running one in place.
    const world = new World(scenario, this.speed, this.world.clock.now());
    this.world.close();
    this.scenario = scenario;
    this.world = world;
    this.calls = [];
    this.callSeq = 0;
    this.faults = this.activate(scenario.faults ?? []);
    await this.onLoad?.(this.world);
  }

  reset(): Promise<void> {
    return this.load(this.scenario);
  }

  addFaults(specs: FaultSpec[]): void {
    this.faults.push(...this.activate(specs));
  }

  private activate(specs: FaultSpec[]): ActiveFault[] {
    const addedAt = this.world.clock.now();
    return specs.map((spec) => {
      if (!['throttle', 'http500', 'reset', 'lost'].includes(spec.kind))
        throw new Error(`unknown fault kind ${spec.kind}`);
      for (const field of ['forMs', 'fromMs', 'untilMs'] as const) {
        const value = spec[field];
        if (value !== undefined && !(typeof value === 'number' && value >= 0))
          throw new Error(`fault ${field} must be a number of simulated ms, got ${String(value)}`);
      }
      return { spec, seen: 0, addedAt };
    });
  }

  /** The rate limits of the loaded account (sim/throttle.ts). */
  throttling(): ThrottlingSummary {
    const gate = this.world.gates.find((g): g is ThrottleGate => g instanceof ThrottleGate);
    return gate?.summary() ?? { enabled: false, throttled: 0, throttledByOperation: {}, buckets: [] };
  }

  callLog(since = 0): SimCall[] {
    return this.calls.filter((c) => c.seq > since);
  }

  // ------------------------------------------------------------ routing

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const body = raw.toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/_sim/')) return this.control(req.method ?? 'GET', url, body, res);
    if (isS3Request(req)) return this.routeS3(req, url, raw, res);
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [prefix, operation] = target.split('.');
      const service = this.world.services.find((s) => s.jsonTargetPrefix === prefix);
      if (!service || !operation)
        return this.sendJsonError(res, 400, 'UnknownOperationException', `Unknown target ${target}`);
      let params: Record<string, unknown>;
      try {
        params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      } catch {
        return this.sendJsonError(res, 400, 'SerializationException', 'The request body is not valid JSON.');
      }
      return this.invoke(service, operation, params, req, res, 'json');
    }
    const params = parseQuery(body || url.search.slice(1));
    const version = params.Version;
    const action = params.Action;
    const service = this.world.services.find(
      (s) => s.queryVersion !== undefined && s.queryVersion === version,
    );
    if (!service || typeof action !== 'string') {
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end(
        queryError('', 'InvalidAction', `Could not route ${req.method} ${url.pathname}`, randomUUID(), 400),
      );
      return;
    }
    delete params.Action;
    delete params.Version;
    return this.invoke(service, action, params, req, res, 'query');
  }

  /** S3's REST requests: the operation from method, path and query (sim/services/s3.ts). */
  private routeS3(req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): Promise<void> | void {
    const service = this.world.services.find((s) => s.name === 's3');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname.slice(1));
    const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
    const virtual = /^(.+)\.(localhost|s3[.-].*)$/.exec(host)?.[1];
    const [bucket, key] = virtual
      ? [virtual, path]
      : [path.split('/')[0], path.includes('/') ? path.slice(path.indexOf('/') + 1) : ''];
    const operation = s3Operation(method, bucket || undefined, key || undefined, url.searchParams);
    if (!service || !operation) {
      res.writeHead(501, { 'content-type': 'application/xml', 'x-amz-request-id': randomUUID() });
      res.end(
        method === 'HEAD'
          ? undefined
          : s3ErrorBody(
              'NotImplemented',
              `${method} ${url.pathname}${url.search} is not served by the simulator's S3`,
              randomUUID(),
            ),
      );
      return;
    }
    const params: Record<string, unknown> = {
      ...Object.fromEntries(url.searchParams),
      ...(bucket ? { Bucket: bucket } : {}),
      ...(key ? { Key: key } : {}),
      ...(typeof req.headers['content-type'] === 'string' && operation === 'PutObject'
        ? { ContentType: req.headers['content-type'] }
        : {}),
    };
    const chunked =
      String(req.headers['content-encoding'] ?? '').includes('aws-chunked') ||
      String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
    const payload = operation === 'PutObject' ? (chunked ? decodeAwsChunked(raw) : raw) : undefined;
    return this.invoke(service, operation, params, req, res, 'rest-xml', payload);
  }

  private fault(service: SimService, operation: string): FaultSpec | undefined {
    let hit: FaultSpec | undefined;
    for (const fault of this.faults) {
      const { spec } = fault;
      if (
        (spec.service !== '*' && spec.service !== service.name) ||
        (spec.operation !== '*' && spec.operation !== operation)
      )
        continue;
      fault.seen += 1;
      const after = spec.after ?? 0;
      const fails = isTimed(spec)
        ? fault.seen > after && this.inWindow(fault)
        : fault.seen > after && fault.seen <= after + (spec.count ?? 1);
      if (!hit && fails) hit = spec;
    }
    return hit;
  }

  /** Whether a timed fault fails a call now (simulated time): inside [fromMs, untilMs) and within forMs of its first failure. */
  private inWindow(fault: ActiveFault): boolean {
    const { spec } = fault;
    const now = this.world.clock.now();
    const since = now - fault.addedAt;
    if (since < (spec.fromMs ?? 0) || (spec.untilMs !== undefined && since >= spec.untilMs)) return false;
    if (spec.forMs === undefined) return true;
    fault.firstHitAt ??= now;
    return now < fault.firstHitAt + spec.forMs;
  }

  private record(call: Omit<SimCall, 'seq' | 'time' | 'realTime' | 'realMs'>): void {
    const realMs = Date.now();
    this.calls.push({
      seq: ++this.callSeq,
      time: new Date(this.world.clock.now()).toISOString(),
      realTime: new Date(realMs).toISOString(),
      realMs,
      ...call,
    });
    if (this.calls.length > LOG_LIMIT) this.calls.splice(0, this.calls.length - LOG_LIMIT);
  }

  private async invoke(
    service: SimService,
    operation: string,
    params: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
    protocol: 'json' | 'query' | 'rest-xml',
    /** S3: the request body, handed to the service as `Body` (not written to the call log). */
    payload?: Buffer,
  ): Promise<void> {
    const handle = () => service.handle(operation, payload ? { ...params, Body: payload } : params);
    const mutating = service.mutating.has(operation);
    const base = { service: service.name, operation, params, mutating };
    const fault = this.fault(service, operation);
    if (fault) {
      this.world.event('fault', { service: service.name, operation, kind: fault.kind });
      if (fault.kind === 'reset' || fault.kind === 'lost') {
        // lost: carried out, then the answer never arrives; the caller cannot tell whether it happened.
        const outcome =
          fault.kind === 'lost'
            ? await Promise.resolve()
                .then(handle)
                .then(
                  () => ({}),
                  (err: unknown) => ({ errorCode: err instanceof AwsError ? err.code : 'InternalFailure' }),
                )
            : {};
        this.record({ ...base, status: 0, fault: fault.kind, ...outcome });
        req.socket.destroy();
        return;
      }
      const [status, code, message] =
        fault.kind === 'throttle'
          ? protocol === 'rest-xml'
            ? [503, 'SlowDown', 'Please reduce your request rate.']
            : [400, protocol === 'query' ? 'Throttling' : 'ThrottlingException', 'Rate exceeded']
          : [
              500,
              'InternalFailure',
              'The request processing has failed because of an unknown error, exception or failure.',
            ];
      this.record({ ...base, status, errorCode: code, fault: fault.kind });
      return this.sendError(res, protocol, service, status, code, message, {}, req.method === 'HEAD');
    }
    let gate: Record<string, unknown> | undefined;
    try {
      for (const check of this.world.gates) {
        const said = check.check({ service: service.name, operation, params, headers: req.headers });
        if (said) gate = { ...gate, ...said };
      }
      const result = await handle();
      const requestId = randomUUID();
      if (protocol === 'rest-xml') {
        const reply = (result ?? {}) as S3Reply;
        this.record({ ...base, ...(gate && { gate }), status: reply.status ?? 200 });
        res.writeHead(reply.status ?? 200, { 'x-amz-request-id': requestId, ...reply.headers });
        res.end(req.method === 'HEAD' ? undefined : reply.body);
        return;
      }
      this.record({ ...base, ...(gate && { gate }), status: 200 });
      if (protocol === 'json') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId });
        res.end(toJsonBody(result ?? {}));
      } else {
        res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
        res.end(queryResponse(operation, service.xmlNamespace ?? '', result, requestId));
      }
    } catch (err) {
      const aws = err instanceof AwsError ? err : undefined;
      // A gate's refusal says why in the call log (e.g. the empty bucket of a throttled call).
      const refusal = (aws as { gate?: Record<string, unknown> } | undefined)?.gate;
      if (refusal) gate = { ...gate, ...refusal };
      if (!aws) console.error(`sim: ${service.name}.${operation} failed:`, err);
      const status = aws?.status ?? 500;
      const code = aws?.code ?? 'InternalFailure';
      const message = aws?.message ?? String(err);
      this.record({ ...base, ...(gate && { gate }), status, errorCode: code });
      this.sendError(res, protocol, service, status, code, message, aws?.fields, req.method === 'HEAD');
    }
  }

  private sendError(
    res: ServerResponse,
    protocol: 'json' | 'query' | 'rest-xml',
    service: SimService,
    status: number,
    code: string,
    message: string,
    fields: Record<string, unknown> = {},
    head = false,
  ) {
    if (protocol === 'json') return this.sendJsonError(res, status, code, message, fields);
    const requestId = randomUUID();
    if (protocol === 'rest-xml') {
      // A HEAD error has no body: the SDK reads the status (404 NotFound, 403 Forbidden).
      res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
      res.end(head ? undefined : s3ErrorBody(code, message, requestId));
      return;
    }
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(queryError(service.xmlNamespace ?? '', code, message, requestId, status));
  }

  private sendJsonError(
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    fields: Record<string, unknown> = {},
  ): void {
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
      'x-amzn-errortype': code,
    });
    res.end(JSON.stringify({ __type: code, message, ...fields }));
  }

  // ------------------------------------------------------------ control API

  /** The ALB data plane's listeners (where each serves) and the requests it answered (sim/alb.ts). */
  private albRequests(since: number): Record<string, unknown> {
    const listeners = [...this.world.elb.loadBalancers.values()].flatMap((lb) =>
      lb.listeners.map((l) => ({
        loadBalancer: lb.name,
        listenerArn: l.arn,
        port: l.port,
        address: l.localPort === undefined ? undefined : `127.0.0.1:${l.localPort}`,
      })),
    );
    return { listeners, requests: this.world.elb.requests(since) };
  }

  private async control(method: string, url: URL, body: string, res: ServerResponse): Promise<void> {
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const since = Number(url.searchParams.get('since') ?? 0) || 0;
    try {
      switch (`${method} ${url.pathname}`) {
        case 'GET /_sim/calls':
          return send(200, this.callLog(since));
        case 'GET /_sim/events':
          return send(200, this.world.events(since));
        case 'GET /_sim/state':
          return send(200, this.world.state());
        case 'GET /_sim/throttling':
          return send(200, this.throttling());
        case 'GET /_sim/alb-requests':
          return send(200, this.albRequests(since));
        case 'POST /_sim/reset':
          await this.reset();
          return send(200, { ok: true });
        case 'POST /_sim/scenario':
          await this.load(JSON.parse(body) as Scenario);
          return send(200, { ok: true });
        case 'POST /_sim/sessions':
          return send(200, adminSession(this.world.gates, JSON.parse(body) as AdminSessionRequest));
        case 'POST /_sim/faults': {
          const parsed = JSON.parse(body) as FaultSpec | FaultSpec[];
          this.addFaults(Array.isArray(parsed) ? parsed : [parsed]);
          return send(200, { ok: true, faults: this.faults.map((f) => ({ ...f.spec, seen: f.seen })) });
        }
        default:
          return send(404, { error: `no control endpoint ${method} ${url.pathname}` });
      }
    } catch (err) {
      return send(400, { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/**
 * An S3 request: signed for the s3 service (SigV4 credential scope in the
 * Authorization header or a presigned URL), or unsigned and no POST (every
 * Query and JSON request is a POST).
 */
function isS3Request(req: IncomingMessage): boolean {
  if (typeof req.headers['x-amz-target'] === 'string') return false;
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
    decodeURIComponent(String(req.headers.authorization ?? req.url ?? '')),
  );
  if (scope) return scope[1] === 's3';
  return req.method !== 'POST' && !/[?&]Action=/.test(req.url ?? '');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
