/**
 * Settings shared by every AWS SDK client the suite creates. Endpoints come
 * from the SDK's own variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECS, ...),
 * so nothing here knows where AWS is.
 */
export interface AwsOptions {
  region?: string;
  /** Total attempts per call including retries; default from AWS_MAX_ATTEMPTS or 8. */
  maxAttempts?: number;
}

export function clientConfig(options: AwsOptions = {}) {
  const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  const envAttempts = Number(process.env.AWS_MAX_ATTEMPTS);
  return {
    ...(region ? { region } : {}),
    // Adaptive retries back off on throttling across calls, not just per call.
    retryMode: 'adaptive' as const,
    maxAttempts: options.maxAttempts ?? (envAttempts > 0 ? envAttempts : 8),
  };
}

/** The region of every client: AWS_REGION or AWS_DEFAULT_REGION, as configure-aws-credentials sets them. */
export function requireRegion(): string {
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new Error(
      'No AWS region: set AWS_REGION (aws-actions/configure-aws-credentials does) before this step',
    );
  }
  return region;
}

/** Console URL for humans; region-aware. */
export function consoleUrl(region: string, path: string): string {
  return `https://${region}.console.aws.amazon.com/${path.replace(/^\//, '')}`;
}
