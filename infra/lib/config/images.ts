/**
 * Context `images`: the image each service runs now, so that a `cdk deploy`
 * which changes a task definition (an environment variable, a size) registers
 * the new revision on that image instead of rolling the service back to the
 * `image-tag` placeholder. The pipeline's infra job reads the running task
 * definitions and passes them here (infra/README.md, "The pipeline's infra
 * job"); the shape is the release pipeline's `images`: container name -> URI.
 */
import { environment, names, services } from './services.js';

/** Service name -> the tag or digest (`sha256:...`) of its own repository it runs. */
export type RunningImages = Readonly<Record<string, string>>;

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Reads context `images` (a JSON object, or its text as `-c images=...` passes it). Every key must be a
 * service, every value an image of that service's own ECR repository in this account and region: the
 * task definitions pull only from there (their execution roles may pull nothing else).
 */
export function readRunningImages(value: unknown, account: string): RunningImages | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw new Error(
        `Context "images" must be a JSON object (container name -> image URI), got ${JSON.stringify(value)}: ${(err as Error).message}`,
      );
    }
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(
      `Context "images" must be a JSON object (container name -> image URI), got ${JSON.stringify(value)}`,
    );
  }
  const known = services.map((s) => s.name);
  const running: Record<string, string> = {};
  for (const [name, uri] of Object.entries(parsed as Record<string, unknown>)) {
    if (!known.includes(name)) {
      throw new Error(
        `Context "images" names "${name}", which is not a service of this app (${known.join(', ')}). Fix: give only these containers`,
      );
    }
    const repository = `${account}.dkr.ecr.${environment.region}.amazonaws.com/${names.repository(name)}`;
    const reference =
      typeof uri === 'string' && uri.startsWith(repository) ? uri.slice(repository.length) : '';
    const tagOrDigest = reference.startsWith(':')
      ? reference.slice(1)
      : reference.startsWith('@')
        ? reference.slice(1)
        : '';
    if (!(reference.startsWith(':') ? TAG : DIGEST).test(tagOrDigest)) {
      throw new Error(
        `Context "images": "${name}" is ${JSON.stringify(uri)}, which is not an image of ${repository} (${repository}:TAG or ${repository}@sha256:DIGEST). Fix: give the image the service runs from its own repository`,
      );
    }
    running[name] = tagOrDigest;
  }
  return running;
}
