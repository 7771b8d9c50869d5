/**
 * An emulation of the official action, aws-actions/amazon-ecs-deploy-task-definition
 * v2.6.3, as a workflow uses it: one step (or one matrix job) per service, with
 * `wait-for-service-stability: true`. What it does, and where that was read
 * (the v2.6.x index.js itself is not in the stored source index; its v1 index.js
 * is, with the same flow in `run()` and `updateEcsService`; the rest comes from
 * the action's pull requests and issues, which quote the v2.6.3 code):
 *
 * - The workflow's own preparation: `aws ecs describe-task-definition
 *   --task-definition <family>` and amazon-ecs-render-task-definition (a file
 *   edit, no AWS call): one DescribeTaskDefinition.
 * - The action: RegisterTaskDefinition (always, changed or not), DescribeServices
 *   (deployment controller and status; since v2.6.2 also the PRIMARY deployment's
 *   id before the update), UpdateService, then `waitUntilServicesStable({ client,
 *   minDelay: WAIT_DEFAULT_DELAY_SEC = 15, maxWaitTime: wait-for-minutes × 60,
 *   maxDelay: wait-max-delay-seconds only if set }, { services: [service], cluster })`
 *   (v2.6.3 index.js L248-262 as quoted in #872's analysis; `wait-for-minutes`
 *   defaults to 30). The input names `wait-for-service-stability`,
 *   `wait-for-minutes` and `wait-max-delay-seconds`: the action's list of valid
 *   inputs quoted in #851 and its action.yml; `wait-max-delay-seconds` came with #839.
 * - Without `wait-max-delay-seconds` the SDK's own maxDelay applies. v2.6.3
 *   bundles @aws-sdk/client-ecs ^3.1076.0, whose ServicesStable waiter defaults
 *   to { minDelay: 15, maxDelay: 600 } (120 before 3.995.0, aws-sdk-js-v3
 *   20258a5; the action's #872 and #875: v2.6.2 waited up to 120 s between polls,
 *   v2.6.3 up to 600 s). The installed client (3.1164.0) has the same defaults
 *   (dist-cjs/index.js, waitUntilServicesStable); we pass maxDelay explicitly
 *   anyway, so the emulation does not move with our own SDK upgrades.
 * - The waiter's poll, from the installed @smithy/core 3.41.1 (client submodule,
 *   `runPolling` and `exponentialBackoffWithJitter`): the first DescribeServices
 *   at once; before attempt n ≥ 1 it sleeps uniform(minDelay, min(maxDelay,
 *   minDelay × 2^(n-1))), and maxDelay itself once n > log2(maxDelay / minDelay) + 1.
 *   With 15/600: 15, U(15,30), U(15,60), …, U(15,480), then 600 s each time.
 *   With 15/15: exactly 15 s each time. SUCCESS when every service has one
 *   deployment and runningCount == desiredCount; FAILURE on MISSING, DRAINING or
 *   INACTIVE. (The copy bundled in v2.6.3 could not be read; #875 describes the
 *   same growth.)
 * - After stability (v2.6.2, #860, fixing #191): if UpdateService made a new
 *   PRIMARY deployment, DescribeServices again; the step fails when that
 *   deployment is gone ("not found after stabilization … likely rolled back by
 *   the deployment circuit breaker") or its rolloutState is FAILED.
 * - A failed step fails the job (`core.setFailed`); the steps after it are
 *   skipped, so in a sequential job the later services are never touched. Matrix
 *   jobs are independent jobs; GitHub's `strategy.fail-fast` (default true)
 *   would cancel the jobs still running when one fails, which stops their
 *   waiters but not the deployments already started: emulated as fail-fast: false.
 *
 * Every delay is divided by the simulator's speed, so the emulation keeps the
 * action's pace in simulated time. The client is a plain ECSClient with the
 * SDK's default retries, as the action builds one.
 */
import {
  DescribeServicesCommand,
  ECSClient,
  UpdateServiceCommand,
  waitUntilServicesStable,
  type Service,
} from '@aws-sdk/client-ecs';
import { planClone, registerClone } from '../lib/ecs/taskdef.js';

/** The action's WAIT_DEFAULT_DELAY_SEC: the waiter's minDelay. */
export const OFFICIAL_MIN_DELAY_S = 15;
/** The ServicesStable waiter's maxDelay in the SDK v2.6.3 bundles, used when `wait-max-delay-seconds` is not set. */
export const OFFICIAL_SDK_MAX_DELAY_S = 600;
/** `wait-for-minutes` default. */
export const OFFICIAL_WAIT_FOR_MINUTES = 30;

export interface OfficialConfig {
  /** `wait-max-delay-seconds`; undefined = not set (the SDK's 600 s). */
  waitMaxDelaySeconds?: number;
  waitForMinutes?: number;
  /** The simulator's speed: every delay is divided by it. */
  speed: number;
}

export interface OfficialStep {
  service: string;
  ok: boolean;
  /** The step's error as the action would report it (core.setFailed). */
  error?: string;
  /** Real ms (Date.now) at which the step ended. */
  endedAt: number;
  /** The revision the step registered. */
  taskDefinition?: string;
}

export function officialClient(): ECSClient {
  // The action: new ECSClient({ customUserAgent, ... }); endpoint and region from the environment.
  return new ECSClient({ customUserAgent: 'amazon-ecs-deploy-task-definition-for-github-actions' });
}

/** One step of the official action on one service: describe → register → describe → update → wait → check. */
export async function officialStep(
  ecs: ECSClient,
  cluster: string,
  service: string,
  images: Record<string, string>,
  config: OfficialConfig,
): Promise<OfficialStep> {
  const { speed } = config;
  let taskDefinition: string | undefined;
  try {
    // The workflow: aws ecs describe-task-definition --task-definition <family> (family = service here), rendered.
    const clone = await planClone(ecs, service, images);
    taskDefinition = await registerClone(ecs, clone);
    const described = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    if (described.failures?.length) {
      const failure = described.failures[0]!;
      throw new Error(`${failure.arn} is ${failure.reason}`);
    }
    const before = described.services![0]!;
    if (before.status !== 'ACTIVE') throw new Error(`Service is ${before.status}`);
    const previousPrimary = primaryDeploymentId(before);
    const updated = await ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition }));
    const newPrimary = primaryDeploymentId(updated.service);

    const maxDelay = config.waitMaxDelaySeconds ?? OFFICIAL_SDK_MAX_DELAY_S;
    await waitUntilServicesStable(
      {
        client: ecs,
        minDelay: OFFICIAL_MIN_DELAY_S / speed,
        maxDelay: maxDelay / speed,
        maxWaitTime: ((config.waitForMinutes ?? OFFICIAL_WAIT_FOR_MINUTES) * 60) / speed,
      },
      { cluster, services: [service] },
    );

    // v2.6.2: did our deployment win, or did the circuit breaker roll it back?
    if (newPrimary && newPrimary !== previousPrimary) {
      const after = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
      const ours = after.services?.[0]?.deployments?.find((d) => d.id === newPrimary);
      if (!ours)
        throw new Error(
          `Deployment ${newPrimary} not found after stabilization. The deployment was likely rolled back by the deployment circuit breaker.`,
        );
      if (ours.rolloutState === 'FAILED')
        throw new Error(
          `Deployment ${newPrimary} failed: ${ours.rolloutStateReason ?? 'rolloutState FAILED'}`,
        );
    }
    return { service, ok: true, endedAt: Date.now(), taskDefinition };
  } catch (err) {
    return {
      service,
      ok: false,
      error: (err as Error).message.slice(0, 200),
      endedAt: Date.now(),
      ...(taskDefinition ? { taskDefinition } : {}),
    };
  }
}

/** One job, one step per service in order; a failed step stops the job (the later steps are skipped). */
export async function officialSequentialJob(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  imagesOf: (service: string) => Record<string, string>,
  config: OfficialConfig,
): Promise<OfficialStep[]> {
  const steps: OfficialStep[] = [];
  for (const service of services) {
    const step = await officialStep(ecs, cluster, service, imagesOf(service), config);
    steps.push(step);
    if (!step.ok) break;
  }
  return steps;
}

/** A matrix of one job per service, all started at once, each with its own client; none stops another. */
export async function officialMatrixJobs(
  cluster: string,
  services: string[],
  imagesOf: (service: string) => Record<string, string>,
  config: OfficialConfig,
): Promise<OfficialStep[]> {
  return Promise.all(
    services.map((service) => officialStep(officialClient(), cluster, service, imagesOf(service), config)),
  );
}

function primaryDeploymentId(service: Service | undefined): string | undefined {
  return service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
}
