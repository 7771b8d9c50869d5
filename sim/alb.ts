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
 * - forward: with several target groups, one is picked per request in
 *   proportion to its weight (a seeded generator per listener, so a run
 *   replays; weight 0 gets nothing); then round robin over the target group's
 *   healthy targets. Draining and
 *   initial targets get no new requests. When the group holds only unhealthy
 *   targets the ALB fails open and routes to all of them; with no target to
 *   route to it answers 503.
 * A target answers as its image's `http` behaviour says (status, body,
 * latency in simulated ms), by default 200 with JSON naming the service, the
 * task definition and its revision, and the task.
 *
 * Every listener gets a server of its own on 127.0.0.1: the first HTTP
 * listener (else the first) is the load balancer's DNS name; the others (a
 * blue/green test listener) listen on their own port (`localPort`, from the
 * listener's `httpPort` in the scenario or a free one). Every answered request
 * is written to the ELB engine's request log (GET /_sim/alb-requests): which
 * listener and rule, which target group, which task and task definition.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mulberry32 } from './clock.js';
import type {
  ElbEngine,
  ListenerAction,
  ListenerRecord,
  LoadBalancerRecord,
  RuleRecord,
  TargetGroupRecord,
  TargetRecord,
  WeightedTargetGroup,
} from './elb-engine.js';
import { closeServer, listen } from './listen.js';

/** What the data plane reads of the simulator: ELB state, its request log and the clock's scale. */
export interface AlbDataPlaneDeps {
  elb: Pick<ElbEngine, 'loadBalancers' | 'targetGroups' | 'recordRequest'>;
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
      const front = lb.listeners.find((l) => l.protocol === 'HTTP') ?? lb.listeners[0];
      if (!front) {
        // A load balancer without listeners answers 503 at its address, as before.
        const server = createServer((req, res) => {
          req.resume();
          answer(res, 503, UNAVAILABLE_PAGE, 'text/html');
        });
        servers.push(server);
        const port = await listen(server, lb.httpPort ?? 0);
        ports.set(lb.arn, port);
        lb.dnsName = `127.0.0.1:${port}`;
        continue;
      }
      for (const listener of [front, ...lb.listeners.filter((l) => l !== front)]) {
        const server = createServer(albHandler(lb, listener, deps));
        // Without this a keep-alive client (fetch) would hold close() open.
        server.keepAliveTimeout = 1000;
        servers.push(server);
        const port = await listen(server, (listener === front ? lb.httpPort : listener.httpPort) ?? 0);
        listener.localPort = port;
        if (listener === front) {
          ports.set(lb.arn, port);
          lb.dnsName = `127.0.0.1:${port}`;
        }
      }
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

/** `*` any run of characters, `?` exactly one; everything else literal. */
export function wildcardToRegExp(pattern: string, caseInsensitive = false): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) =>
    c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`,
  );
  return new RegExp(`^${source}$`, caseInsensitive ? 'si' : 's');
}

/** The action for a request: the first matching rule's, else the default. */
export function routeRequest(listener: ListenerRecord, path: string, host: string): ListenerAction {
  return matchRule(listener, path, host)?.action ?? listener.defaultAction;
}

/** The first rule whose conditions all match, or undefined (the default rule). */
export function matchRule(listener: ListenerRecord, path: string, host: string): RuleRecord | undefined {
  const hostname = host.replace(/:\d+$/, '');
  return listener.rules.find((rule) => {
    const pathOk =
      rule.pathPatterns.length === 0 || rule.pathPatterns.some((p) => wildcardToRegExp(p).test(path));
    const hostOk =
      rule.hostHeaders.length === 0 || rule.hostHeaders.some((h) => wildcardToRegExp(h, true).test(hostname));
    return pathOk && hostOk;
  });
}

/**
 * The target group a forward action sends one request to: with one group, that
 * one; with several, each in proportion to its weight (`draw` in [0, 1)).
 * Undefined when every weight is 0.
 */
export function pickTargetGroup(groups: WeightedTargetGroup[], draw: number): string | undefined {
  if (groups.length === 1) return groups[0]!.targetGroupArn;
  const total = groups.reduce((sum, g) => sum + Math.max(0, g.weight), 0);
  if (total <= 0) return undefined;
  let point = draw * total;
  for (const g of groups) {
    if (g.weight <= 0) continue;
    if (point < g.weight) return g.targetGroupArn;
    point -= g.weight;
  }
  return groups.filter((g) => g.weight > 0).at(-1)!.targetGroupArn;
}

/** A stable seed for a listener's weighted choice: its ARN, hashed (the ARN comes from the scenario's seed). */
function seedOf(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

/** The targets a new request may go to: healthy ones, or all of them when only unhealthy ones are registered. */
export function routableTargets(tg: TargetGroupRecord): TargetRecord[] {
  const targets = [...tg.targets.values()];
  const healthy = targets.filter((t) => t.state === 'healthy');
  if (healthy.length > 0) return healthy;
  const registered = targets.filter((t) => t.state !== 'draining');
  return registered.length > 0 && registered.every((t) => t.state === 'unhealthy') ? registered : [];
}

function albHandler(lb: LoadBalancerRecord, listener: ListenerRecord, deps: AlbDataPlaneDeps) {
  const roundRobin = new Map<string, number>();
  const draw = mulberry32(seedOf(listener.arn));
  return (req: IncomingMessage, res: ServerResponse) => {
    // Drain the request body: the answer does not depend on it.
    req.resume();
    const rawPath = (req.url ?? '/').split('?')[0] || '/';
    const rule = matchRule(listener, rawPath, req.headers.host ?? '');
    const action = rule?.action ?? listener.defaultAction;
    const log = (status: number, tg?: TargetGroupRecord, target?: TargetRecord) =>
      deps.elb.recordRequest({
        loadBalancer: lb.name,
        listenerArn: listener.arn,
        listenerPort: listener.port,
        ruleArn: rule?.arn ?? listener.defaultRuleArn,
        method: req.method ?? 'GET',
        path: rawPath,
        status,
        targetGroupArn: tg?.arn,
        targetGroup: tg?.name,
        taskArn: target?.taskArn,
        taskDefinitionArn: target?.taskDefinitionArn,
        service: target?.serviceName,
      });
    if (action.type === 'fixed-response') {
      log(action.statusCode);
      return answer(res, action.statusCode, action.body ?? '', action.contentType ?? 'text/plain');
    }
    const tgArn = pickTargetGroup(action.targetGroups, draw());
    const tg = tgArn ? deps.elb.targetGroups.get(tgArn) : undefined;
    const candidates = tg ? routableTargets(tg) : [];
    if (!tg || candidates.length === 0) {
      log(503, tg);
      return answer(res, 503, UNAVAILABLE_PAGE, 'text/html');
    }
    const turn = roundRobin.get(tg.arn) ?? 0;
    roundRobin.set(tg.arn, turn + 1);
    const target = candidates[turn % candidates.length]!;
    log(target.behaviour.http?.status ?? 200, tg, target);
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
