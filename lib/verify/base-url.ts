/** Where the HTTP checks go when `base-url` is not given: the load balancer in front of the services. */
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { VerifiedService } from '../contracts/verify-report.js';
import { OperationError } from '../errors.js';
import { chunks } from '../ecs/services.js';
import type { ObserveOptions } from './observe.js';

/**
 * The load balancer in front of the services' target groups: DescribeTargetGroups
 * → LoadBalancerArns → DescribeLoadBalancers → DNSName, and the scheme of its listener.
 */
export async function discoverBaseUrl(
  services: VerifiedService[],
  options: Pick<ObserveOptions, 'elbv2' | 'signal'>,
): Promise<string> {
  const targetGroupArns = [
    ...new Set(services.flatMap((s) => s.targetGroups.map((tg) => tg.targetGroupArn))),
  ];
  const fix = 'set `base-url` to the address the checks should use';
  if (targetGroupArns.length === 0) {
    throw new OperationError(
      'No load balancer to send the HTTP checks to: the services have no target groups',
      [fix],
    );
  }
  const elbv2 = await options.elbv2();
  const groups = await Promise.all(
    chunks(targetGroupArns, 20).map((chunk) =>
      elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: chunk }), {
        abortSignal: options.signal,
      }),
    ),
  );
  const lbArns = [
    ...new Set(groups.flatMap((g) => g.TargetGroups ?? []).flatMap((tg) => tg.LoadBalancerArns ?? [])),
  ];
  if (lbArns.length === 0) {
    throw new OperationError(
      'No load balancer to send the HTTP checks to: the target groups are attached to none',
      [fix],
    );
  }
  const { LoadBalancers: lbs = [] } = await elbv2.send(
    new DescribeLoadBalancersCommand({ LoadBalancerArns: lbArns }),
    {
      abortSignal: options.signal,
    },
  );
  if (lbs.length !== 1) {
    throw new OperationError(
      `The services sit behind ${lbs.length} load balancers (${lbs.map((lb) => lb.LoadBalancerName).join(', ')}): which one the checks use is ambiguous`,
      [fix],
    );
  }
  const lb = lbs[0]!;
  const { Listeners: listeners = [] } = await elbv2.send(
    new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
    { abortSignal: options.signal },
  );
  const listener =
    listeners.find((l) => l.Protocol === 'HTTP') ?? listeners.find((l) => l.Protocol === 'HTTPS');
  const scheme = listener?.Protocol === 'HTTPS' ? 'https' : 'http';
  const defaultPort = scheme === 'https' ? 443 : 80;
  const host = lb.DNSName ?? '';
  const port =
    listener?.Port && listener.Port !== defaultPort && !host.includes(':') ? `:${listener.Port}` : '';
  return `${scheme}://${host}${port}`;
}
