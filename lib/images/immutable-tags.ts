/**
 * ECR's refusal to move an immutable tag, recognised in whatever reported it
 * (docker push, buildx, a registry manifest PUT) and explained by the role the
 * tag plays in build-push, with the fix for that role.
 *
 * ECR's registry answers `TAG_INVALID` with "The image tag 'T' already exists
 * in the 'R' repository and cannot be overwritten because the tag is
 * immutable." (older endpoints: "… because the repository is immutable.").
 */
import type { BuildPlan } from './command.js';

export interface TagRefusal {
  tag: string;
  repository: string;
}

const REFUSAL =
  /The image tag '([^']+)' already exists in the '([^']+)' repository and cannot be overwritten because the (?:tag|repository) is immutable/;

/** The refused tag and repository named in `text`, or undefined when `text` is about something else. */
export function immutableTagRefusal(text: string): TagRefusal | undefined {
  const match = REFUSAL.exec(text);
  return match ? { tag: match[1]!, repository: match[2]! } : undefined;
}

/** A repository's tag settings as DescribeRepositories gives them. */
export interface RepositoryTagRules {
  imageTagMutability?: string;
  imageTagMutabilityExclusionFilters?: { filterType?: string; filter?: string }[];
}

function wildcard(filter: string, tag: string): boolean {
  const pattern = filter
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(tag);
}

/**
 * Whether ECR keeps `tag` once it exists (refuses to point it elsewhere):
 * IMMUTABLE keeps every tag, IMMUTABLE_WITH_EXCLUSION all but those matching a
 * filter, MUTABLE_WITH_EXCLUSION only those, MUTABLE none.
 */
export function keepsTag(rules: RepositoryTagRules, tag: string): boolean {
  const excluded = (rules.imageTagMutabilityExclusionFilters ?? []).some(
    (f) => f.filter !== undefined && wildcard(f.filter, tag),
  );
  switch (rules.imageTagMutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return false;
  }
}

/**
 * Before anything is built: the tags build-push moves on every build that the
 * repository would keep, each with the fix. They are refused from the second
 * build on, so the first build of a new repository is warned, not failed.
 */
export function movingTagWarnings(
  repository: string,
  rules: RepositoryTagRules,
  moving: { cacheTag?: string; tags: string[] },
): string[] {
  const roles = [
    ...(moving.cacheTag
      ? [{ tag: moving.cacheTag, what: 'the build cache tag', other: 'or set cache-tag: none' }]
      : []),
    ...moving.tags.map((tag) => ({
      tag,
      what: 'a moving tag (input tags)',
      other: 'or remove it from tags',
    })),
  ];
  return roles
    .filter(({ tag }) => keepsTag(rules, tag))
    .map(
      ({ tag, what, other }) =>
        `ECR repository '${repository}' keeps the tag '${tag}' immutable (${rules.imageTagMutability}), but it is ${what}, which build-push moves on every build: once it exists, every later build is refused. Fix: ${exclusion(tag)}, ${other}.`,
    );
}

/** The CDK spelling of the exclusion, the one fix every moving tag shares. */
const exclusion = (filter: string) =>
  `exclude it from tag immutability: imageTagMutability IMMUTABLE_WITH_EXCLUSION with the exclusion filter '${filter}' (CDK: ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION, imageTagMutabilityExclusionFilters: [ecr.ImageTagMutabilityExclusionFilter.wildcard('${filter}')])`;

/** One sentence saying what was refused, why, and the fix for the tag's role in `plan`. */
export function explainRefusal(plan: BuildPlan, refusal: TagRefusal): string {
  const { tag, repository } = refusal;
  const head = `${plan.service.name}: ECR refused to move the tag '${tag}' in repository '${repository}': the tag already names another image and the repository's tags are immutable.`;
  if (tag === plan.tags[0]) {
    return `${head} It is this commit's release tag: the commit was pushed before and this build differs from that image; release tags never move, on purpose. Fix: keep skip-existing: true (the default), so a re-run deploys the image pushed first, or release a new commit.`;
  }
  if (tag === plan.cacheTag) {
    return `${head} It is the build cache tag, which moves on every build. Fix: ${exclusion(tag)}, or set cache-tag: none.`;
  }
  if (tag === plan.inputsTag) {
    return `${head} It marks the image built from these exact inputs and never needs to move: another build of the same inputs got it first. Fix: run again (the image under it is then reused).`;
  }
  if (plan.tags.includes(tag)) {
    return `${head} It is a moving tag (input tags), which names a new image on every release. Fix: ${exclusion(tag)}, or remove it from tags.`;
  }
  return `${head} Fix: ${exclusion(tag)}.`;
}
