/**
 * verify's `report` output. Its shape is public (actions/verify/README.md):
 * fields are added, never renamed.
 */
import { InputError } from '../errors.js';
import type { CheckProgress } from '../verify/http.js';
import type { TargetGroupReport } from '../verify/targets.js';
import { isJsonObject, parseJsonObject } from './json.js';

/** One service as verify found it. */
export interface VerifiedService {
  service: string;
  desiredCount: number;
  /** The revision that must be live. */
  newTaskDefinition: string;
  previousTaskDefinition?: string;
  /** The task definition of the service's PRIMARY deployment, as ECS reports it. */
  primaryTaskDefinition?: string;
  /** Tasks whose desired status is RUNNING, by revision role. */
  runningTasks: { new: number; old: number };
  ok: boolean;
  targetGroups: TargetGroupReport[];
  /**
   * The service's ECS events since its PRIMARY deployment began that report a
   * problem (unhealthy targets, failed tasks), newest first, at most 5.
   */
  events?: { createdAt: string; message: string }[];
  /** With `traffic: test`: the green revision checked and the test listener that reaches it. */
  testTraffic?: TestTrafficReport;
}

/** What `traffic: test` checked of one blue/green service. */
export interface TestTrafficReport {
  serviceDeploymentArn: string;
  /** The deployment's target (green) service revision. */
  serviceRevisionArn: string;
  taskDefinition: string;
  deploymentStatus?: string;
  lifecycleStage?: string;
  /** Green's target groups, from the green service revision's loadBalancers. */
  targetGroupArns: string[];
  testListenerRuleArn: string;
  testListenerArn: string;
  /** Percent of the test listener rule's traffic forwarded to green. */
  testWeightPercent: number;
  /** The test listener rule's path patterns (absent: it matches every path): which checks reach this green. */
  testPathPatterns?: string[];
  /** The test listener rule's priority (ALB evaluates the lowest first; absent: the default rule, last). */
  testRulePriority?: number;
}

/** The `report` output. */
export interface VerifyReport {
  status: 'passed' | 'failed';
  cluster: string;
  /** Which traffic was checked: production (absent in reports before `traffic` existed) or test (green). */
  traffic?: 'production' | 'test';
  /** With `traffic: test`: the test listener the HTTP checks went through. */
  testListener?: { listenerArn: string; port: number };
  baseUrl?: string;
  startedAt: string;
  durationMs: number;
  services: VerifiedService[];
  checks: CheckProgress[];
  /** Why it failed, one line per cause; empty when it passed. */
  problems: string[];
}

const FIX = 'pass the verify output as is: `${{ steps.verify.outputs.report }}`';

/** The `report` output. */
export function serializeVerifyReport(report: VerifyReport): string {
  return JSON.stringify(report);
}

/**
 * Parses a `report` (for a later step or a tool that reads it). The fields a
 * reader decides on are checked; nested details are kept as written.
 */
export function parseVerifyReport(raw: string, input = 'report'): VerifyReport {
  const report = parseJsonObject(raw, { input, shape: "a JSON object (verify's report)", fix: FIX });
  const fail = (problem: string): never => {
    throw new InputError(input, problem, FIX);
  };
  if (report.status !== 'passed' && report.status !== 'failed')
    fail(`has a "status" that is neither "passed" nor "failed" (${JSON.stringify(report.status)})`);
  for (const field of ['cluster', 'startedAt'] as const) {
    if (typeof report[field] !== 'string') fail(`has no "${field}" string`);
  }
  if (report.baseUrl !== undefined && typeof report.baseUrl !== 'string')
    fail('has a "baseUrl" that is not a string');
  if (typeof report.durationMs !== 'number') fail('has no "durationMs" number');
  for (const field of ['services', 'checks', 'problems'] as const) {
    if (!Array.isArray(report[field])) fail(`has no "${field}" array`);
  }
  (report.services as unknown[]).forEach((service, i) => {
    if (!isJsonObject(service) || typeof service.service !== 'string' || typeof service.ok !== 'boolean')
      fail(`services[${i}] is not a service with "service" and "ok"`);
  });
  (report.checks as unknown[]).forEach((check, i) => {
    if (!isJsonObject(check) || typeof check.check !== 'string' || typeof check.ok !== 'boolean')
      fail(`checks[${i}] is not a check with "check" and "ok"`);
  });
  if (!(report.problems as unknown[]).every((p) => typeof p === 'string'))
    fail('has "problems" that are not strings');
  return report as unknown as VerifyReport;
}
