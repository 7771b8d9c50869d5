/**
 * Settings shared by every AWS SDK client the suite creates. Endpoints come
 * from the SDK's own variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECS, ...),
 * so nothing here knows where AWS is.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

export interface AwsOptions {
  region?: string;
  /** Total attempts per call including retries; default from AWS_MAX_ATTEMPTS or 8. */
  maxAttempts?: number;
}

/** The longest wait between two attempts of one call. */
export const MAX_RETRY_DELAY_MS = 2_000;

export function clientConfig(options: AwsOptions = {}) {
  const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  const envAttempts = Number(process.env.AWS_MAX_ATTEMPTS);
  const maxAttempts = options.maxAttempts ?? (envAttempts > 0 ? envAttempts : 8);
  return {
    ...(region ? { region } : {}),
    maxAttempts,
    retryStrategy: cappedRetryStrategy(maxAttempts),
  };
}

/**
 * Full-jitter exponential backoff capped at MAX_RETRY_DELAY_MS (the SDK's own
 * strategies wait up to 20 s between attempts, in timers an abort does not
 * clear: a cancelled step would outlive GitHub's grace). Longer outages are
 * the callers' to ride out: the follow loop backs off across polls until its
 * deadline, and rollbacks retry until theirs.
 */
export function cappedRetryStrategy(
  maxAttempts: number,
  random: () => number = Math.random,
): RetryStrategyV2 {
  const token = (retries: number, delay: number): RetryToken => ({
    getRetryCount: () => retries,
    getRetryDelay: () => delay,
  });
  return {
    acquireInitialRetryToken: () => Promise.resolve(token(0, 0)),
    refreshRetryTokenForRetry: (previous: RetryToken, info: RetryErrorInfo) => {
      const retries = previous.getRetryCount() + 1;
      if (info.errorType === 'CLIENT_ERROR' || retries >= maxAttempts) return Promise.reject(info.error);
      const base = info.errorType === 'THROTTLING' ? 500 : 100;
      const delay = Math.floor(random() * Math.min(MAX_RETRY_DELAY_MS, base * 2 ** retries));
      return Promise.resolve(token(retries, delay));
    },
    recordSuccess: () => undefined,
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
