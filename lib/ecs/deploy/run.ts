/** What the steps of one deploy share: the clients, how to follow, and each service's record. */
import type { DeployedService } from '../../contracts/deployments.js';
import type { Log } from '../../log.js';
import type { Clock } from '../../time.js';
import type { EcsClients } from '../clients.js';
import type { FailureKind, FollowOptions, RolloutTarget } from '../rollout.js';

export interface DeployRun {
  clients: EcsClients;
  cluster: string;
  log: Log;
  clock: Clock;
  signal?: AbortSignal;
  /** When the signal aborted (the clock's ms), once it has. */
  cancelledAt(): number | undefined;
  /** After a cancellation, how long the rollback calls may take (GitHub sends SIGTERM 7.5 s after SIGINT). */
  cancelGraceMs: number;
  /** How rollouts (and rollbacks) are followed; each step adds its label. */
  follow: FollowOptions;
}

/** One service of the plan once its rollout was started (or found needless, or failed to start). */
export interface StartedService {
  /** Its entry in the `deployments` output, filled in step by step. */
  report: DeployedService;
  /** What to follow; absent when nothing was started. */
  target?: RolloutTarget;
  /** UpdateService was called: the service needs a rollback on failure. */
  touched: boolean;
  startedAtMs: number;
  /** Why following it ended in failure ('unobservable': AWS could not be read until the deadline). */
  failureKind?: FailureKind;
}
