/**
 * The overlay: what a cloud assembly cannot say about the simulated world.
 * Infrastructure comes from the templates; the overlay adds the machine's
 * facts (the real registry ECR fronts), how each image tag behaves, the
 * clock, the seed, faults, subnets without Fargate capacity (named by their
 * stack and logical id or CDK path, never by an id), and the CDK context the
 * app is synthesized with.
 */
import { readFileSync } from 'node:fs';
import type { EcrSpec, FaultSpec, ImageBehaviour, Timing } from '../scenario.js';

export interface Overlay {
  /** Shown in logs (Scenario.name). */
  name?: string;
  /** CDK context the app is synthesized with (`cdk synth -c key=value`), e.g. github-repo, image-tag. */
  context?: Record<string, string>;
  /** For environment-agnostic stacks (default 123456789012 / us-east-1). */
  accountId?: string;
  region?: string;
  /** What Fn::GetAZs answers (default the region's a, b and c). */
  availabilityZones?: string[];
  /** Template parameter values by stack name (else each parameter's Default). */
  parameters?: Record<string, Record<string, unknown>>;
  seed?: number;
  timing?: Partial<Timing>;
  images?: Record<string, ImageBehaviour>;
  faults?: FaultSpec[];
  /** The real registry ECR fronts and its login; repositories come from the templates. */
  ecr?: Omit<EcrSpec, 'repositories'>;
  /**
   * Subnets where Fargate has no capacity (RunTask answers a failure), by a
   * stable name: "<stackName>/<logicalId>" or the resource's CDK path
   * (Metadata aws:cdk:path, e.g. "Net/Vpc/publicSubnet1/Subnet").
   */
  capacityUnavailableSubnets?: string[];
  /** The ALB data plane's port per load balancer name (default 0: any free port). */
  albHttpPorts?: Record<string, number>;
  /** IAM enforcement (Scenario.iam.mode); roles and policies come from the templates. */
  iam?: { mode?: 'enforce' | 'permissive' };
  /** How long before the load the loaded services were deployed (Scenario.historyMs; default one day). */
  historyMs?: number;
}

export function readOverlay(overlay: Overlay | string | undefined): Overlay {
  if (overlay === undefined) return {};
  return typeof overlay === 'string' ? (JSON.parse(readFileSync(overlay, 'utf8')) as Overlay) : overlay;
}
