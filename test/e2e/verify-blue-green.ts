/**
 * A blue/green world for verify `traffic: test` (test/e2e/verify-test-traffic.test.ts,
 * test/reliability/verify.faults.test.ts): service "web" (BLUE_GREEN, two
 * tasks, production listener 80, test listener on its own port) whose
 * deployments a PAUSE hook holds at POST_TEST_TRAFFIC_SHIFT, the release's
 * gate; "web:2" is a good revision, "web:3" answers every request 500 while
 * passing its health checks; "worker" rolls.
 */
import type { Scenario } from '../../sim/index.js';
import { blueGreenLoadBalancer, smallWorld } from '../sim/helpers.js';

export const CLUSTER = 'bg';
export const keys = { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' };

/**
 * One ALB: production listener on 80, test listener on `testPort`. The test
 * listener's declared port is the port its data-plane server listens on, so
 * the address DescribeListeners and DescribeLoadBalancers give (the DNS name's
 * host, the listener's port) reaches it, as on AWS.
 */
export function blueGreenWorld(testPort: number): Scenario {
  const healthCheck = { intervalSeconds: 2, healthyThresholdCount: 2 };
  return {
    ...smallWorld('verify-test-traffic', 11, CLUSTER),
    taskDefinitions: [
      ...['web:v1', 'web:v2', 'web:broken'].map((image) => ({
        family: 'web',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [
          { name: 'web', image, essential: true, portMappings: [{ containerPort: 3000 }] },
        ],
      })),
      {
        family: 'worker',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'worker', image: 'worker:v1', essential: true }],
      },
    ],
    // Healthy for the ALB's health checks, but every request gets an error page.
    images: { 'web:broken': { http: { status: 500, body: 'Internal Server Error' } } },
    targetGroups: [
      { name: 'web-blue', port: 3000, healthCheck, deregistrationDelaySeconds: 2 },
      { name: 'web-green', port: 3000, healthCheck, deregistrationDelaySeconds: 2 },
    ],
    loadBalancers: [
      {
        name: 'alb',
        httpPort: 0,
        listeners: [
          { port: 80, defaultTargetGroup: 'web-blue' },
          { port: testPort, httpPort: testPort, defaultTargetGroup: 'web-blue' },
        ],
      },
    ],
    services: [
      {
        cluster: CLUSTER,
        name: 'web',
        taskDefinition: 'web:1',
        desiredCount: 2,
        loadBalancers: [blueGreenLoadBalancer('web', 'alb', testPort)],
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
        deploymentConfiguration: {
          strategy: 'BLUE_GREEN',
          bakeTimeInMinutes: 0,
          // The release's gate: the deployment waits here, green on test traffic, production on blue.
          lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'] }],
        },
      },
      {
        cluster: CLUSTER,
        name: 'worker',
        taskDefinition: 'worker:1',
        desiredCount: 1,
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
      },
    ],
  };
}
