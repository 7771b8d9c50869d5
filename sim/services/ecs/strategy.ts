/**
 * Reading and checking the deployment strategy fields of CreateService and
 * UpdateService: deploymentConfiguration.strategy, bakeTimeInMinutes,
 * lifecycleHooks, linearConfiguration, canaryConfiguration, and each load
 * balancer's advancedConfiguration, with the ranges the API reference gives
 * (DeploymentConfiguration, DeploymentLifecycleHook, LinearConfiguration,
 * CanaryConfiguration, AdvancedConfiguration).
 */
import type { EcsEngine } from '../../ecs/engine.js';
import type {
  AdvancedConfiguration,
  DeploymentConfiguration,
  ServiceLoadBalancer,
} from '../../ecs/records.js';
import { invalid, type Params } from './request.js';

const STRATEGIES = ['ROLLING', 'BLUE_GREEN', 'LINEAR', 'CANARY'];
/** DeploymentLifecycleHookStage. */
const HOOK_STAGES = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRE_PRODUCTION_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
];

const inRange = (value: unknown, lo: number, hi: number) =>
  typeof value === 'number' && Number.isFinite(value) && value >= lo && value <= hi;
/** "Multiples of 0.1" (LinearConfiguration.stepPercent, CanaryConfiguration.canaryPercent). */
const tenths = (value: number) => Math.abs(value * 10 - Math.round(value * 10)) < 1e-9;

/** The advancedConfiguration of a requested load balancer, checked against the ELB state. */
export function advancedConfigurationOf(
  engine: EcsEngine,
  lb: Params,
  targetGroupArn: string,
): AdvancedConfiguration | undefined {
  const raw = lb.advancedConfiguration as Params | undefined;
  if (raw === undefined || raw === null) return undefined;
  const alternate = raw.alternateTargetGroupArn;
  if (typeof alternate !== 'string' || !alternate)
    throw invalid('advancedConfiguration.alternateTargetGroupArn can not be blank.');
  if (!engine.elb.targetGroups.has(alternate))
    throw invalid(
      `The target group ${alternate} in advancedConfiguration.alternateTargetGroupArn does not exist.`,
    );
  if (alternate === targetGroupArn)
    throw invalid('The alternate target group must be different from the target group of the load balancer.');
  const rule = (name: 'productionListenerRule' | 'testListenerRule'): string | undefined => {
    const arn = raw[name];
    if (arn === undefined || arn === null) return undefined;
    if (typeof arn !== 'string' || !engine.elb.findRule(arn))
      throw invalid(`The listener rule ${String(arn)} in advancedConfiguration.${name} does not exist.`);
    const ref = engine.elb.findRule(arn)!;
    const action = engine.elb.actionOf(ref);
    const forwards = action.type === 'forward' ? action.targetGroups.map((t) => t.targetGroupArn) : [];
    if (!forwards.some((tg) => tg === targetGroupArn || tg === alternate))
      throw invalid(
        `The listener rule ${arn} in advancedConfiguration.${name} must forward to the target group ${targetGroupArn} or ${alternate}.`,
      );
    return arn;
  };
  const productionListenerRule = rule('productionListenerRule');
  if (!productionListenerRule)
    throw invalid(
      'advancedConfiguration.productionListenerRule is required for an Application Load Balancer.',
    );
  const testListenerRule = rule('testListenerRule');
  if (typeof raw.roleArn !== 'string' || !raw.roleArn)
    throw invalid('advancedConfiguration.roleArn can not be blank.');
  return {
    alternateTargetGroupArn: alternate,
    productionListenerRule,
    testListenerRule,
    roleArn: raw.roleArn,
  };
}

/**
 * Checks the strategy fields of a service's deployment configuration as it
 * would be after the request, with the load balancers it would have.
 */
export function checkStrategy(
  config: Partial<DeploymentConfiguration>,
  loadBalancers: ServiceLoadBalancer[],
): void {
  const strategy = config.strategy ?? 'ROLLING';
  if (!STRATEGIES.includes(strategy))
    throw invalid(
      `Invalid deployment strategy ${String(strategy)}: use ROLLING, BLUE_GREEN, LINEAR or CANARY.`,
    );
  if (
    config.bakeTimeInMinutes !== undefined &&
    !(Number.isInteger(config.bakeTimeInMinutes) && inRange(config.bakeTimeInMinutes, 0, 1440))
  )
    throw invalid('bakeTimeInMinutes must be an integer between 0 and 1440.');
  const linear = config.linearConfiguration;
  if (linear) {
    if (strategy !== 'LINEAR')
      throw invalid('linearConfiguration is only valid with the LINEAR deployment strategy.');
    if (
      linear.stepPercent !== undefined &&
      !(inRange(linear.stepPercent, 3, 100) && tenths(linear.stepPercent))
    )
      throw invalid('linearConfiguration.stepPercent must be a multiple of 0.1 between 3.0 and 100.0.');
    if (linear.stepBakeTimeInMinutes !== undefined && !inRange(linear.stepBakeTimeInMinutes, 0, 1440))
      throw invalid('linearConfiguration.stepBakeTimeInMinutes must be between 0 and 1440.');
  }
  const canary = config.canaryConfiguration;
  if (canary) {
    if (strategy !== 'CANARY')
      throw invalid('canaryConfiguration is only valid with the CANARY deployment strategy.');
    if (
      canary.canaryPercent !== undefined &&
      !(inRange(canary.canaryPercent, 0.1, 100) && tenths(canary.canaryPercent))
    )
      throw invalid('canaryConfiguration.canaryPercent must be a multiple of 0.1 between 0.1 and 100.0.');
    if (canary.canaryBakeTimeInMinutes !== undefined && !inRange(canary.canaryBakeTimeInMinutes, 0, 1440))
      throw invalid('canaryConfiguration.canaryBakeTimeInMinutes must be between 0 and 1440.');
  }
  for (const hook of config.lifecycleHooks ?? []) {
    const type = hook.targetType ?? 'AWS_LAMBDA';
    if (type !== 'AWS_LAMBDA' && type !== 'PAUSE')
      throw invalid(`Invalid lifecycle hook targetType ${String(type)}.`);
    if (!Array.isArray(hook.lifecycleStages) || hook.lifecycleStages.length === 0)
      throw invalid('lifecycleHooks.lifecycleStages can not be empty.');
    for (const stage of hook.lifecycleStages) {
      if (!HOOK_STAGES.includes(stage)) throw invalid(`Invalid lifecycle stage ${String(stage)}.`);
    }
    if (type === 'PAUSE') {
      if (hook.lifecycleStages.some((s) => s === 'TEST_TRAFFIC_SHIFT' || s === 'PRODUCTION_TRAFFIC_SHIFT'))
        throw invalid(
          'PAUSE hooks cannot be configured at the TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages.',
        );
      continue;
    }
    if (typeof hook.hookTargetArn !== 'string' || !hook.hookTargetArn.startsWith('arn:aws:lambda:'))
      throw invalid('lifecycleHooks.hookTargetArn must be the ARN of a Lambda function.');
    if (typeof hook.roleArn !== 'string' || !hook.roleArn)
      throw invalid('lifecycleHooks.roleArn can not be blank.');
  }
  if (strategy === 'ROLLING') return;
  if (!loadBalancers.some((lb) => lb.advancedConfiguration))
    throw invalid(
      `The ${strategy} deployment strategy requires a load balancer with an advancedConfiguration (alternate target group and production listener rule).`,
    );
}
