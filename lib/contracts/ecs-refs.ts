/**
 * ECS resources as the actions' inputs name them: a name, or an ARN. An ARN
 * says a region and an account, which the step does not choose by it: its AWS
 * clients go to the step's region (AWS_REGION) with the account of its
 * credentials. What is decided here, before any AWS call:
 * - an ARN of another region than the step's is refused (the ECS endpoint is
 *   regional: AWS would answer "Invalid Region in ARN" at best, after earlier
 *   calls of the step may already have changed something);
 * - the ARNs one step is given agree on the account. Which account the
 *   credentials are of, only AWS knows (STS GetCallerIdentity: a call, an
 *   endpoint and a failure mode the actions otherwise do without), so a cluster
 *   ARN that is the only ARN given is checked by ECS itself: another account's
 *   cluster is ClusterNotFoundException on the step's first read, which changes
 *   nothing;
 * - a list of services names each service once, whether by name or by ARN
 *   ("web" and "arn:…:service/cluster/web" are one service: deploying it twice
 *   races the first deployment with the second), and a service ARN is of the
 *   cluster given.
 */
import { InputError } from '../errors.js';

export interface Arn {
  partition: string;
  /** The AWS service, e.g. "ecs". */
  service: string;
  region: string;
  account: string;
  /** After the account, e.g. "cluster/alva" or "service/alva/web". */
  resource: string;
}

/** An input's value, for the checks that compare several inputs. */
export interface GivenRef {
  input: string;
  value: string;
}

const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$/;

/** The parts of an ARN; undefined when `text` is not one (a name). */
export function parseArn(text: string): Arn | undefined {
  const match = ARN.exec(text.trim());
  if (!match) return undefined;
  const [, partition, service, region, account, resource] = match as unknown as string[];
  return {
    partition: partition!,
    service: service!,
    region: region!,
    account: account!,
    resource: resource!,
  };
}

/** The cluster's name: the input itself, or the name in its ARN (`cluster/<name>`). */
export function clusterName(cluster: string, input = 'cluster'): string {
  if (!cluster.startsWith('arn:')) return cluster;
  const arn = parseArn(cluster);
  const name = arn?.service === 'ecs' ? /^cluster\/([A-Za-z0-9_-]+)$/.exec(arn.resource)?.[1] : undefined;
  if (!name) {
    throw new InputError(
      input,
      `"${cluster}" is not an ECS cluster ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)`,
      'give the cluster name, or its ARN as the ECS console shows it',
    );
  }
  return name;
}

/**
 * `services` as given (names or ARNs), each service once, every ARN a service
 * of `cluster`. Returned unchanged: the action keys its report by what the user wrote.
 */
export function checkServiceList(services: string[], cluster: string, input = 'services'): string[] {
  const ofCluster = clusterName(cluster);
  const byName = new Map<string, string>();
  for (const given of services) {
    const name = serviceNameOf(given, ofCluster, input);
    const earlier = byName.get(name);
    if (earlier !== undefined) {
      throw new InputError(
        input,
        `lists ${name} more than once${earlier === given ? '' : ` ("${earlier}" and "${given}" are one service)`}`,
        'list each service once, by name or by ARN',
      );
    }
    byName.set(name, given);
  }
  return services;
}

function serviceNameOf(given: string, cluster: string, input: string): string {
  if (!given.startsWith('arn:')) return given;
  const arn = parseArn(given);
  // Service ARNs: service/<cluster>/<name>, or the old form service/<name>.
  const match =
    arn?.service === 'ecs' ? /^service\/(?:([A-Za-z0-9_-]+)\/)?([A-Za-z0-9_-]+)$/.exec(arn.resource) : null;
  if (!match) {
    throw new InputError(
      input,
      `"${given}" is not an ECS service ARN (arn:aws:ecs:<region>:<account>:service/<cluster>/<name>)`,
      'give the service name, or its ARN as the ECS console shows it',
    );
  }
  const [, ofCluster, name] = match;
  if (ofCluster !== undefined && ofCluster !== cluster) {
    throw new InputError(
      input,
      `"${given}" is a service of cluster "${ofCluster}", not of \`cluster\` ("${cluster}")`,
      `deploy the services of one cluster per step: give "${name}" with \`cluster: ${ofCluster}\` in a step of its own`,
    );
  }
  return name!;
}

/**
 * Every ARN among `refs` is of `region` (when known) and of one account. The
 * first ARN (put the cluster first) is the one the others are compared with.
 */
export function checkRegionAndAccount(refs: GivenRef[], region: string | undefined): void {
  const arns = refs.flatMap((ref) => {
    const arn = parseArn(ref.value);
    return arn ? [{ ...ref, arn }] : [];
  });
  for (const { input, value, arn } of arns) {
    if (region && arn.region && arn.region !== region) {
      throw new InputError(
        input,
        `"${value}" is in region ${arn.region}, but this step's AWS region is ${region}`,
        `give the ARN (or name) of what is in ${region}, or run the step in ${arn.region} (\`aws-region\` of aws-actions/configure-aws-credentials)`,
      );
    }
  }
  const [first, ...others] = arns;
  for (const { input, value, arn } of others) {
    if (arn.account && first!.arn.account && arn.account !== first!.arn.account) {
      const where = input === first!.input ? 'another entry' : `\`${first!.input}\``;
      throw new InputError(
        input,
        `"${value}" is in account ${arn.account}, but ${where} ("${first!.value}") is in account ${first!.arn.account}`,
        'give names, or ARNs of the one account the step deploys to (that of its credentials)',
      );
    }
  }
}
