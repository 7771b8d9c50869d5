/**
 * ECR's image tag mutability, shared by the ECR API (PutImage) and the
 * registry front docker pushes through (sim/ecr-front.ts), so both refuse the
 * same pushes:
 * - MUTABLE: every tag moves; MUTABLE_WITH_EXCLUSION: tags matching an
 *   exclusion filter are immutable, the rest move;
 * - IMMUTABLE: no tag moves; IMMUTABLE_WITH_EXCLUSION: tags matching an
 *   exclusion filter move, the rest are immutable.
 * A filter is a WILDCARD: `*` matches any run of characters, the rest is
 * literal (pattern `^[0-9a-zA-Z._*-]{1,128}$`).
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html
 */
import type { EcrRepositorySpec } from './scenario.js';

export type TagMutability = NonNullable<EcrRepositorySpec['imageTagMutability']>;
export const TAG_MUTABILITIES: readonly TagMutability[] = [
  'MUTABLE',
  'IMMUTABLE',
  'IMMUTABLE_WITH_EXCLUSION',
  'MUTABLE_WITH_EXCLUSION',
];
export const EXCLUSION_FILTER = /^[0-9a-zA-Z._*-]{1,128}$/;

export interface ExclusionFilter {
  filterType: 'WILDCARD';
  filter: string;
}

export interface TagRules {
  imageTagMutability: TagMutability;
  imageTagMutabilityExclusionFilters: ExclusionFilter[];
}

function matches(filter: string, tag: string): boolean {
  const pattern = filter
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(tag);
}

/** True when a tag that already exists in the repository may not be pointed at another image. */
export function isTagImmutable(rules: TagRules, tag: string): boolean {
  const excluded = rules.imageTagMutabilityExclusionFilters.some((f) => matches(f.filter, tag));
  switch (rules.imageTagMutability) {
    case 'MUTABLE':
      return false;
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
  }
}

/** ECR's words for a refused overwrite, in PutImage's ImageTagAlreadyExistsException and the registry's TAG_INVALID. */
export function tagAlreadyExistsMessage(repository: string, tag: string): string {
  return `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the tag is immutable.`;
}
