/**
 * The `images` map: build-push's output, read by deploy-services and migrate.
 * A name (a container; for migrate, a name its `container-images` maps a
 * container to) → the image reference to run.
 *
 * What `images` accepts, decided once for every reader:
 * - a JSON object with at least one entry;
 * - each value an image reference, `[registry[:port]/]repository[:tag][@algorithm:digest]`
 *   (surrounding whitespace trimmed): build-push's digest-pinned
 *   `123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:…`, its `repo:sha`
 *   when `push: false`, `web:1`, `127.0.0.1:5000/alva/web:v2`, `ghcr.io/o/web:1@sha256:…`;
 * - or, for a value, an object whose `image` (else `uri`) field is such a
 *   reference (migrate has read that form from the start; deploy-services now does too).
 * What it refuses, naming the input, the entry and the fix:
 * - invalid JSON; an array, string, number or null; an empty object;
 * - a value that is not a non-empty string; a reference with whitespace, a URL
 *   scheme (`https://`), a leading `/`, `:` or `@`, a trailing `/` or `:`, or a
 *   digest that is not `algorithm:encoded`;
 * - an empty name, or a name every JavaScript object already has (`__proto__`,
 *   `constructor`, `toString`, …): readers look images up by name in plain
 *   objects too, where those names find a function instead of an image.
 * The map returned has no prototype, so `images[name]` finds only what the JSON gave.
 */
import { InputError } from '../errors.js';
import { bareMap, isJsonObject, parseJsonObject } from './json.js';

/** Name → image reference; built by parseImages without a prototype. */
export type ImageMap = Record<string, string>;

const EXAMPLE = '{"web": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:…"}';
const REFERENCE_FIX =
  "give registry/repository:tag or registry/repository@sha256:digest (build-push's `images` output)";
// OCI image-spec digest: algorithm ":" encoded.
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const INHERITED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Why `reference` is not an image reference, or undefined when it is one. */
export function imageReferenceProblem(reference: string): string | undefined {
  if (reference === '') return 'is empty';
  if (/\s/.test(reference)) return 'contains whitespace';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(reference)) return 'is a URL: an image reference has no scheme';
  if (/^[/:@]/.test(reference)) return 'does not start with a registry or repository name';
  if (/[/:]$/.test(reference)) return `ends with "${reference.slice(-1)}"`;
  const at = reference.indexOf('@');
  if (at >= 0 && !DIGEST.test(reference.slice(at + 1)))
    return `has a digest "${reference.slice(at + 1)}" that is not algorithm:hex (e.g. sha256:…)`;
  return undefined;
}

/** One image reference given on its own (migrate's `image`). */
export function parseImageReference(raw: string, input = 'image'): string {
  const reference = raw.trim();
  const problem = imageReferenceProblem(reference);
  if (problem)
    throw new InputError(input, `"${raw}" is not an image reference: it ${problem}`, REFERENCE_FIX);
  return reference;
}

/** Parses the `images` JSON; every refusal names `input`, the entry and the fix. */
export function parseImages(raw: string, input = 'images'): ImageMap {
  const object = parseJsonObject(raw, {
    input,
    shape: 'a JSON object',
    fix: `give a JSON object such as ${EXAMPLE}`,
  });
  const entries = Object.entries(object);
  if (entries.length === 0)
    throw new InputError(input, 'is an empty object', `name at least one container: ${EXAMPLE}`);
  return bareMap(entries.map(([name, value]) => [checkedName(name, input), imageOf(name, value, input)]));
}

/** The `images` output. */
export function serializeImages(images: ImageMap): string {
  return JSON.stringify(images);
}

function checkedName(name: string, input: string): string {
  if (name.trim() === '')
    throw new InputError(input, 'has an entry with an empty name', `name each container: ${EXAMPLE}`);
  if (INHERITED_NAMES.has(name)) {
    throw new InputError(
      input,
      `names "${name}", a name every JavaScript object already has`,
      'give the container another name in the task definition and in `images`',
    );
  }
  return name;
}

function imageOf(name: string, value: unknown, input: string): string {
  const given = isJsonObject(value) ? (value.image ?? value.uri) : value;
  if (typeof given !== 'string' || given.trim() === '') {
    throw new InputError(
      input,
      `the image of container "${name}" must be a non-empty string (got ${JSON.stringify(value)})`,
      `give an image URI: ${EXAMPLE}`,
    );
  }
  const reference = given.trim();
  const problem = imageReferenceProblem(reference);
  if (problem)
    throw new InputError(input, `the image of container "${name}" ${problem} ("${given}")`, REFERENCE_FIX);
  return reference;
}

/** `reference` split into its repository (`[registry/]repository`), tag and digest. */
export function imageReferenceParts(reference: string): {
  repository: string;
  tag?: string;
  digest?: string;
} {
  const at = reference.indexOf('@');
  const named = at >= 0 ? reference.slice(0, at) : reference;
  const digest = at >= 0 ? reference.slice(at + 1) : undefined;
  // A tag is the ":" part of the last path segment; a ":" before a "/" is the registry's port.
  const colon = named.lastIndexOf(':');
  const tagged = colon > named.lastIndexOf('/');
  return {
    repository: tagged ? named.slice(0, colon) : named,
    ...(tagged ? { tag: named.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/**
 * Whether two references name the same image for certain. Both pinned to a
 * digest: the same repository and digest, whatever tag either carries (a tag
 * next to a digest is ignored by the registry). Otherwise only the same
 * reference: a tag may point elsewhere now than where it did when the running
 * tasks pulled it, so `repo:v1@sha256:A` and `repo:v1@sha256:B`, or `repo:v1`
 * and `repo:v1@sha256:A`, are different images.
 */
export function sameImage(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  if (a === b) return true;
  const left = imageReferenceParts(a);
  const right = imageReferenceParts(b);
  return left.digest !== undefined && left.digest === right.digest && left.repository === right.repository;
}
