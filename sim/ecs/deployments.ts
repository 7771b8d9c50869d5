/**
 * A service's deployments and the records of the ServiceDeployment API: a new
 * PRIMARY deployment with its service revision and service deployment (the
 * older ones become ACTIVE, and one still in progress is superseded), and the
 * completion of a deployment once the service scheduler finds it done.
 * Rollbacks start here too, on the circuit breaker's word (circuit-breaker.ts).
 */
import type { SimRandom } from '../clock.js';
import type {
  DeploymentConfiguration,
  DeploymentRecord,
  ServiceDeploymentRecord,
  ServiceRecord,
  ServiceRevisionRecord,
} from './records.js';
import type { EcsStore } from './store.js';
import type { Timers } from './timers.js';

/** Service deployments kept per service. */
const MAX_SERVICE_DEPLOYMENTS = 50;

/** What a rollback deployment goes back from and to. */
export interface RollbackOf {
  of: DeploymentRecord;
  to: DeploymentRecord;
  reason: string;
}

/** A deployment configuration with ECS's defaults: `requested` over `current` over the defaults. */
export function deploymentConfiguration(
  requested: Partial<DeploymentConfiguration> | undefined,
  current?: DeploymentConfiguration,
): DeploymentConfiguration {
  return {
    ...current,
    ...requested,
    minimumHealthyPercent: requested?.minimumHealthyPercent ?? current?.minimumHealthyPercent ?? 100,
    maximumPercent: requested?.maximumPercent ?? current?.maximumPercent ?? 200,
    deploymentCircuitBreaker: {
      ...current?.deploymentCircuitBreaker,
      ...requested?.deploymentCircuitBreaker,
      enable:
        requested?.deploymentCircuitBreaker?.enable ?? current?.deploymentCircuitBreaker.enable ?? false,
      rollback:
        requested?.deploymentCircuitBreaker?.rollback ?? current?.deploymentCircuitBreaker.rollback ?? false,
    },
  };
}

export class Deployments {
  constructor(
    private readonly store: EcsStore,
    private readonly timers: Timers,
    private readonly random: SimRandom,
  ) {}

  /** A new PRIMARY deployment; the previous ones become ACTIVE and are scaled in by the scheduler. */
  start(service: ServiceRecord, taskDefinitionArn: string, rollback?: RollbackOf): DeploymentRecord {
    const now = this.timers.now();
    const id = `ecs-svc/${this.random.digits(19)}`;
    const revisionArn = rollback ? rollback.to.revisionArn : this.newRevision(service, taskDefinitionArn).arn;
    const deployment: DeploymentRecord = {
      id,
      status: 'PRIMARY',
      taskDefinitionArn,
      desiredCount: service.desiredCount,
      failedTasks: 0,
      failuresEvaluated: true,
      createdAt: now,
      updatedAt: now,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: rollback
        ? `ECS deployment circuit breaker: rolling back to deploymentId ${rollback.to.id}.`
        : `ECS deployment ${id} in progress.`,
      launchType: service.launchType,
      networkConfiguration: service.networkConfiguration,
      revisionArn,
      rollbackOf: rollback?.of,
      // Tasks register where production is (blue/green may have swapped the target groups).
      targetGroupArns: service.liveTargetGroupArns && [...service.liveTargetGroupArns],
    };
    this.demotePrevious(service, deployment, !rollback);
    if (rollback) {
      // A rollback carries on the service deployment it rolls back (ECS makes no new one).
      deployment.serviceDeployment = rollback.of.serviceDeployment;
    } else if (service.serviceDeploymentsEnabled) {
      this.newServiceDeployment(service, deployment);
    }
    service.deployments.unshift(deployment);
    service.steady = false;
    this.store.event('deployment.started', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: id,
      taskDefinition: taskDefinitionArn,
      rollback: rollback ? rollback.to.id : undefined,
    });
    return deployment;
  }

  /** The service's deployments become ACTIVE; unless `next` is a rollback, one still in progress is stopped. */
  private demotePrevious(service: ServiceRecord, next: DeploymentRecord, supersede: boolean): void {
    const now = next.createdAt;
    for (const previous of service.deployments) {
      previous.status = 'ACTIVE';
      previous.updatedAt = now;
      const sd = previous.serviceDeployment;
      if (
        supersede &&
        sd &&
        (sd.status === 'IN_PROGRESS' || sd.status === 'PENDING' || sd.status === 'ROLLBACK_IN_PROGRESS')
      ) {
        sd.status = 'STOPPED';
        sd.statusReason = `Service deployment stopped because a new deployment ${next.id} started.`;
        sd.stoppedAt = now;
        sd.finishedAt = now;
        sd.updatedAt = now;
      }
    }
  }

  private newRevision(service: ServiceRecord, taskDefinitionArn: string): ServiceRevisionRecord {
    const revision: ServiceRevisionRecord = {
      arn: this.store.arn(
        `service-revision/${service.cluster.name}/${service.name}/${this.random.digits(19)}`,
      ),
      service,
      taskDefinitionArn,
      createdAt: this.timers.now(),
      launchType: service.launchType,
      loadBalancers: service.loadBalancers,
      networkConfiguration: service.networkConfiguration,
    };
    service.revisions.set(revision.arn, revision);
    return revision;
  }

  /** The ServiceDeployment record of a deployment that is not a rollback: from the current revisions to its own. */
  private newServiceDeployment(service: ServiceRecord, deployment: DeploymentRecord): void {
    const now = deployment.createdAt;
    const sd: ServiceDeploymentRecord = {
      arn: this.store.arn(
        `service-deployment/${service.cluster.name}/${service.name}/${this.random.hex(22)}`,
      ),
      service,
      createdAt: now,
      startedAt: now,
      updatedAt: now,
      status: 'IN_PROGRESS',
      sourceRevisionArns: [...new Set(service.deployments.map((d) => d.revisionArn))],
      targetRevisionArn: deployment.revisionArn,
      deploymentConfiguration: service.deploymentConfiguration,
      circuitBreakerStatus: service.deploymentConfiguration.deploymentCircuitBreaker.enable
        ? 'MONITORING'
        : 'DISABLED',
      deployment,
    };
    deployment.serviceDeployment = sd;
    service.serviceDeployments.unshift(sd);
    if (service.serviceDeployments.length > MAX_SERVICE_DEPLOYMENTS)
      service.serviceDeployments.length = MAX_SERVICE_DEPLOYMENTS;
  }

  /** The deployment runs its desired count, all healthy, and nothing older is left: COMPLETED, the others go. */
  complete(service: ServiceRecord, deployment: DeploymentRecord): void {
    const now = this.timers.now();
    deployment.rolloutState = 'COMPLETED';
    deployment.rolloutStateReason = `ECS deployment ${deployment.id} completed.`;
    deployment.updatedAt = now;
    for (const other of service.deployments) if (other !== deployment) other.status = 'INACTIVE';
    service.deployments = [deployment];
    service.lastCompleted = deployment;
    const sd = deployment.serviceDeployment;
    if (sd) {
      sd.status = deployment.rollbackOf ? 'ROLLBACK_SUCCESSFUL' : 'SUCCESSFUL';
      sd.statusReason = undefined;
      sd.finishedAt = now;
      sd.updatedAt = now;
      if (sd.circuitBreakerStatus === 'MONITORING') sd.circuitBreakerStatus = 'MONITORING_COMPLETE';
    }
    this.store.event('deployment.completed', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: deployment.id,
      taskDefinition: deployment.taskDefinitionArn,
      rollback: deployment.rollbackOf ? true : undefined,
    });
    if (!service.steady) {
      this.store.serviceEvent(
        service,
        `(service ${service.name}) (deployment ${deployment.id}) deployment completed.`,
      );
      this.reachSteadyState(service, deployment);
    }
    service.steady = true;
  }

  /** The service runs what its PRIMARY deployment asks, and says so. */
  reachSteadyState(service: ServiceRecord, primary: DeploymentRecord): void {
    service.steady = true;
    this.store.serviceEvent(service, `(service ${service.name}) has reached a steady state.`);
    this.store.event('service.steady', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: primary.id,
    });
  }
}
