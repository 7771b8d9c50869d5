/**
 * The ALB data plane: one real HTTP server on 127.0.0.1 per load balancer.
 * The load balancer's DNS name becomes the server's address ("127.0.0.1:<port>"),
 * so DescribeLoadBalancers leads clients to it as it would to a real ALB.
 *
 * A request is routed as an Application Load Balancer routes it
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html,
 *  .../target-group-health-checks.html):
 * - the listener's rules in priority order, lowest number first; a rule matches
 *   when every condition matches, a condition when any of its values does;
 *   path patterns apply to the path only (not the query), case-sensitive;
 *   host headers case-insensitive; both take `*` (any run) and `?` (one character);
 * - no rule matches: the listener's default action;
 * - forward: round robin over the target group's healthy targets. Draining and
 *   initial targets get no new requests. When the group holds only unhealthy
 *   targets the ALB fails open and routes to all of them; with no target to
 *   route to it answers 503.
 * A target answers as its image's `http` behaviour says (status, body,
 * latency in simulated ms), by default 200 with JSON naming the service, the
 * task definition and its revision, and the task.
 *
 * The simulator serves one listener per load balancer on its single local
 * port: the first HTTP listener, else the first listener.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ElbEngine,
  ListenerAction,
  ListenerRecord,
  LoadBalancerRecord,
  TargetGroupRecord,
  TargetRecord,
} from './elb-engine.js';

/** What the data plane reads of the simulator: ELB state and the clock's scale. */
export interface AlbDataPlaneDeps {
  elb: Pick<ElbEngine, 'loadBalancers' | 'targetGroups'>;
  /** Real milliseconds for a simulated duration. */
  toReal(simMs: number): number;
}

export interface AlbDataPlane {
  /** Load balancer ARN → the port its server listens on. */
  readonly ports: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** The ALB's own 503 page, as the console shows it. */
const UNAVAILABLE_PAGE =
  '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n';

/** Starts a server for every load balancer and sets each one's DNS name to its address. */
export async function startAlbDataPlane(deps: AlbDataPlaneDeps): Promise<AlbDataPlane> {
  const servers: Server[] = [];
  const ports = new Map<string, number>();
  try {
    for (const lb of deps.elb.loadBalancers.values()) {
      const server = createServer(albHandler(lb, deps));
      // Without this a keep-alive client (fetch) would hold close() open.
      server.keepAliveTimeout = 1000;
      servers.push(server);
      const port = await listen(server, lb.httpPort ?? 0);
      ports.set(lb.arn, port);
      lb.dnsName = `127.0.0.1:${port}`;
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }
  return {
    ports,
    close: async () => {
      await Promise.all(servers.map(closeServer));
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** `*` any run of characters, `?` exactly one; everything else literal. */
export function wildcardToRegExp(pattern: string, caseInsensitive = false): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) =>
    c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`,
  );
  return new RegExp(`^${source}$`, caseInsensitive ? 'si' : 's');
}

/** The action for a request: the first matching rule's, else the default. */
export function routeRequest(listener: ListenerRecord, path: string, host: string): ListenerAction {
  const hostname = host.replace(/:\d+$/, '');
  for (const rule of listener.rules) {
    const pathOk =
      rule.pathPatterns.length === 0 || rule.pathPatterns.some((p) => wildcardToRegExp(p).test(path));
    const hostOk =
      rule.hostHeaders.length === 0 || rule.hostHeaders.some((h) => wildcardToRegExp(h, true).test(hostname));
    if (pathOk && hostOk) return rule.action;
  }
  return listener.defaultAction;
}

/** The targets a new request may go to: healthy ones, or all of them when only unhealthy ones are registered. */
export function routableTargets(tg: TargetGroupRecord): TargetRecord[] {
  const targets = [...tg.targets.values()];
  const healthy = targets.filter((t) => t.state === 'healthy');
  if (healthy.length > 0) return healthy;
  const registered = targets.filter((t) => t.state !== 'draining');
  return registered.length > 0 && registered.every((t) => t.state === 'unhealthy') ? registered : [];
}

function albHandler(lb: LoadBalancerRecord, deps: AlbDataPlaneDeps) {
  const roundRobin = new Map<string, number>();
  return (req: IncomingMessage, res: ServerResponse) => {
    // Drain the request body: the answer does not depend on it.
    req.resume();
    const listener = lb.listeners.find((l) => l.protocol === 'HTTP') ?? lb.listeners[0];
    if (!listener) return answer(res, 503, UNAVAILABLE_PAGE, 'text/html');
    const rawPath = (req.url ?? '/').split('?')[0] || '/';
    const action = routeRequest(listener, rawPath, req.headers.host ?? '');
    if (action.type === 'fixed-response') {
      return answer(res, action.statusCode, action.body ?? '', action.contentType ?? 'text/plain');
    }
    const tg = deps.elb.targetGroups.get(action.targetGroupArn);
    const candidates = tg ? routableTargets(tg) : [];
    if (!tg || candidates.length === 0) return answer(res, 503, UNAVAILABLE_PAGE, 'text/html');
    const turn = roundRobin.get(tg.arn) ?? 0;
    roundRobin.set(tg.arn, turn + 1);
    const target = candidates[turn % candidates.length]!;
    answerFromTarget(res, target, deps);
  };
}

function answerFromTarget(res: ServerResponse, target: TargetRecord, deps: AlbDataPlaneDeps): void {
  const http = target.behaviour.http ?? {};
  const revision = Number(/:(\d+)$/.exec(target.taskDefinitionArn)?.[1]);
  const body =
    http.body ??
    JSON.stringify({
      service: target.serviceName ?? null,
      taskDefinition: target.taskDefinitionArn,
      revision: Number.isNaN(revision) ? null : revision,
      task: target.taskArn,
      container: target.containerName,
      image: target.image,
    });
  const contentType = http.body === undefined ? 'application/json' : 'text/plain; charset=utf-8';
  const send = () => {
    if (!res.destroyed) answer(res, http.status ?? 200, body, contentType, false);
  };
  if (http.latencyMs) setTimeout(send, deps.toReal(http.latencyMs)).unref();
  else send();
}

function answer(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  fromAlb = true,
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    // Responses the ALB makes itself carry its server header; a target's carry the target's.
    ...(fromAlb ? { server: 'awselb/2.0' } : {}),
  });
  res.end(body);
}
