import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type { Construct } from 'constructs';
import { environment, names, services } from '../config/services.js';

/**
 * The tag build-push moves to the newest build of each image, for the next
 * build's layer cache (its `cache-tag` input, default `buildcache`).
 */
export const BUILD_CACHE_TAG = 'buildcache';

/**
 * The ECR repositories, one per service. A stack of their own so that they can
 * be deployed, and the first images pushed, before the services that run them.
 */
export class RegistryStack extends Stack {
  /** Service short name -> repository. */
  readonly repositories: Readonly<Record<string, ecr.Repository>>;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const entries = services.map((service) => {
      const repository = new ecr.Repository(this, `${service.name}Repository`, {
        repositoryName: names.repository(service.name),
        imageScanOnPush: true,
        // A release tag always means the same image: deployments and rollbacks are reproducible.
        // The build cache tag is the one tag that must move (every release writes it), so it,
        // and nothing else, is excluded: without this ECR refuses every release after the first.
        imageTagMutability: ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
        imageTagMutabilityExclusionFilters: [ecr.ImageTagMutabilityExclusionFilter.wildcard(BUILD_CACHE_TAG)],
        encryption: ecr.RepositoryEncryption.AES_256,
        lifecycleRules: [
          {
            description: 'Untagged layers of interrupted or replaced pushes',
            tagStatus: ecr.TagStatus.UNTAGGED,
            maxImageAge: Duration.days(1),
            rulePriority: 1,
          },
          {
            description: `Keep the ${environment.ecrImagesToKeep} newest images: enough to roll back`,
            tagStatus: ecr.TagStatus.ANY,
            maxImageCount: environment.ecrImagesToKeep,
            rulePriority: 2,
          },
        ],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      new CfnOutput(this, `${names.output(service.name)}RepositoryUri`, {
        description: `ECR repository of ${service.name}`,
        value: repository.repositoryUri,
      });
      return [service.name, repository] as const;
    });
    this.repositories = Object.fromEntries(entries);
  }
}
