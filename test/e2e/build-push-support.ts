// Moved to runner/docker.ts (bench/build.ts shares it, and bench/ never imports test/).
// Kept only for test/reliability/build-push.faults.test.ts, whose import is not this change's to edit.
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { Sim } from '../../sim/index.js';

export * from '../../runner/docker.js';

/**
 * The registry host the simulator's ECR sends clients to (its registry front,
 * which enforces ECR's tag rules), as GetAuthorizationToken's proxyEndpoint
 * names it: the host build-push logs in to and names its images by.
 */
export async function ecrHost(sim: Sim): Promise<string> {
  const ecr = new ECRClient({
    region: 'us-east-1',
    endpoint: sim.url,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  try {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    return out.authorizationData![0]!.proxyEndpoint!.replace(/^https?:\/\//, '');
  } finally {
    ecr.destroy();
  }
}
