/**
 * Everything the simulator serves, in one place: the AWS services answered on
 * its port and the data planes started beside it. To add a service, write
 * sim/services/<name>.ts (a SimService, see sim/service.ts) and list it here.
 */
import { startAlbDataPlane, type AlbDataPlaneDeps } from './alb.js';
import { startEcrFront } from './ecr-front.js';
import type { EcsEngine } from './ecs/engine.js';
import type { ElbEngine } from './elb-engine.js';
import { IamAuthorizer } from './iam/authorizer.js';
import type { LogsStore } from './logs-store.js';
import type { CallGate, SimContext, SimService } from './service.js';
import { CloudFormationService } from './services/cloudformation.js';
import { EcrService } from './services/ecr.js';
import { EcsService } from './services/ecs.js';
import { Elbv2Service } from './services/elbv2.js';
import { LogsService } from './services/logs.js';
import { S3Service } from './services/s3.js';
import { SsmService } from './services/ssm.js';
import { StsService } from './services/sts.js';
import { ThrottleGate } from './throttle.js';

/** What a service is made from: the loaded account (sim/world.ts) and its engines. */
export interface ServiceParts extends SimContext {
  readonly ecs: EcsEngine;
  readonly elb: ElbEngine;
  readonly logs: LogsStore;
}

/** Makes a service for one loaded scenario (load and reset make a new one). */
export type ServiceFactory = (parts: ServiceParts) => SimService;

/** The AWS services, in the order requests are matched against them. */
export const SERVICES: readonly ServiceFactory[] = [
  ({ ecs }) => new EcsService(ecs),
  ({ elb, region }) => new Elbv2Service(elb, region),
  ({ logs, region, accountId }) => new LogsService(logs, region, accountId),
  (parts) => new EcrService(parts),
  (parts) => new CloudFormationService(parts),
  (parts) => new StsService(parts),
  (parts) => new SsmService(parts),
  (parts) => new S3Service(parts),
];

/** Makes a gate for one loaded scenario. */
export type CallGateFactory = (parts: ServiceParts) => CallGate;

/** Checks every call passes, in this order, before its service sees it (sim/service.ts CallGate). */
export const CALL_GATES: readonly CallGateFactory[] = [
  (parts) => new IamAuthorizer(parts),
  ({ scenario, now }) => new ThrottleGate(scenario.throttling, now),
];

/** What a data plane reads of the loaded account: ELB state, the clock's scale, the API services. */
export interface DataPlaneDeps extends AlbDataPlaneDeps {
  readonly services: readonly SimService[];
}

/** A listener that serves real traffic (not API calls), started after every load and closed before the next. */
export type DataPlaneStarter = (deps: DataPlaneDeps) => Promise<{ close(): Promise<void> }>;

/**
 * The ALB data plane sets each load balancer's `dnsName` to the address it listens on;
 * the ECR registry front points ECR's proxyEndpoint and repositoryUri at itself.
 */
export const DATA_PLANES: readonly DataPlaneStarter[] = [startAlbDataPlane, startEcrFront];
