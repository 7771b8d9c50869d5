/**
 * What production traffic a revision served, read from the ALB data plane's own
 * request log (the simulator's GET /_sim/alb-requests: one record per answered
 * request, with the listener it came in on and the task definition of the task
 * that answered). Pure: the strategies benchmark (bench/strategies/measure.ts)
 * fetches the log and hands it here.
 */

/** The fields of a request record (sim/elb-engine.ts AlbRequestRecord) these figures need. */
export interface ServedRequest {
  seq: number;
  /** Simulated epoch ms. */
  time: number;
  listenerPort: number;
  status: number;
  service?: string;
  taskDefinitionArn?: string;
}

/** How much of a listener's traffic some revisions served. */
export interface Exposure {
  /** Requests on the listener in the log given. */
  total: number;
  /** Of those, answered by a task of one of the revisions. */
  served: number;
  /** Of those served, answered with a 5xx. */
  errors: number;
  /** Simulated epoch ms of the first and the last request served; absent when none was. */
  firstMs?: number;
  lastMs?: number;
  /** lastMs − firstMs (0 when none or one was served). */
  spanMs: number;
}

/** The requests on `listenerPort` answered by a task of one of `revisions` (task-definition ARNs). */
export function exposure(
  requests: readonly ServedRequest[],
  listenerPort: number,
  revisions: readonly string[],
): Exposure {
  const onListener = requests.filter((r) => r.listenerPort === listenerPort);
  const wanted = new Set(revisions);
  const served = onListener.filter(
    (r) => r.taskDefinitionArn !== undefined && wanted.has(r.taskDefinitionArn),
  );
  const times = served.map((r) => r.time);
  const firstMs = times.length ? Math.min(...times) : undefined;
  const lastMs = times.length ? Math.max(...times) : undefined;
  return {
    total: onListener.length,
    served: served.length,
    errors: served.filter((r) => r.status >= 500).length,
    ...(firstMs !== undefined ? { firstMs, lastMs } : {}),
    spanMs: firstMs !== undefined && lastMs !== undefined ? lastMs - firstMs : 0,
  };
}

/**
 * When production had moved to the new revisions for good: per service, the
 * time of its last request on `listenerPort` answered by anything but its new
 * revision, and of those the latest (simulated epoch ms). Undefined when some
 * service's requests on the listener never reached its new revision after that
 * (it never cut over within the log), or when no request of the service was logged.
 */
export function cutOverAt(
  requests: readonly ServedRequest[],
  listenerPort: number,
  newRevisionByService: Readonly<Record<string, string>>,
): number | undefined {
  let latest = -Infinity;
  for (const [service, revision] of Object.entries(newRevisionByService)) {
    const ofService = requests
      .filter((r) => r.listenerPort === listenerPort && r.service === service)
      .sort((a, b) => a.seq - b.seq);
    if (!ofService.length || ofService.at(-1)!.taskDefinitionArn !== revision) return undefined;
    const lastOld = ofService.findLast((r) => r.taskDefinitionArn !== revision);
    // No old-revision request at all: it cut over before the first one logged.
    latest = Math.max(latest, lastOld ? lastOld.time : ofService[0]!.time);
  }
  return Number.isFinite(latest) ? latest : undefined;
}

export function median(values: readonly number[]): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
