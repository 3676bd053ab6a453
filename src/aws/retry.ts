/**
 * The AWS SDK v3 standard retry strategy, kept inside the CA's deadlines: the same retryable errors
 * (throttling codes and 429; transient codes, 500/502/503/504, connection refused or reset, DNS
 * failures and timeouts), the same attempts (3) and the same backoff (full jitter, exponential,
 * a longer base after throttling). test/conformance/retry.test.ts holds the classification and the
 * constants to the installed SDK's. Not copied: the SDK's per-client retry quota and Retry-After
 * hints; a deadline bounds every call here instead, and a wait that would pass it is not started.
 */

/** The SDK's DEFAULT_MAX_ATTEMPTS. */
export const MAX_ATTEMPTS = 3;
/** Backoff bases and cap (ms) of the SDK's standard strategy. */
export const BACKOFF = { baseMs: 50, throttlingBaseMs: 1000, maxMs: 20_000 } as const;

/** Error codes the SDK treats as throttling, whatever the service. */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);
/** Node's errors for a connection that failed or dropped, and for a failed DNS lookup. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export type RetryKind = 'throttling' | 'transient';

/** A service's answer: its error code (if any) and HTTP status. */
export function retryKindOfAnswer(code: string | undefined, status: number): RetryKind | undefined {
  if (status === 429 || (code !== undefined && THROTTLING_CODES.has(code))) return 'throttling';
  if ((code !== undefined && TRANSIENT_CODES.has(code)) || TRANSIENT_STATUSES.has(status)) return 'transient';
  return undefined;
}

/** A request that got no answer: a network error code or a timeout, here or in its causes. */
export function retryKindOfFailure(e: unknown, depth = 0): RetryKind | undefined {
  if (!(e instanceof Error) || e.name === 'AbortError' || depth > 10) return undefined;
  const code = (e as NodeJS.ErrnoException).code;
  if (e.name === 'TimeoutError' || (code !== undefined && NETWORK_ERROR_CODES.has(code))) return 'transient';
  return retryKindOfFailure(e.cause, depth + 1);
}

/** No answer within the deadline: the SDK's TimeoutError, which it retries. */
export class AwsTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** The wait before retry number `retry` (0 for the first): full jitter over an exponential bound. */
export function backoffMs(kind: RetryKind, retry: number, random: () => number = Math.random): number {
  const base = kind === 'throttling' ? BACKOFF.throttlingBaseMs : BACKOFF.baseMs;
  return Math.floor(random() * Math.min(base * 2 ** retry, BACKOFF.maxMs));
}

export interface RetryOptions {
  maxAttempts: number;
  /** Epoch ms: no attempt or wait runs past it. */
  deadline: number;
  /** Whether, and how, a failure may be tried again. */
  classify: (e: unknown) => RetryKind | undefined;
  signal?: AbortSignal;
}

/**
 * Runs `attempt` (given the time left) until it succeeds, fails in a way not worth retrying, runs
 * out of attempts, or the next wait would end past the deadline; then throws the last failure.
 */
export async function withRetries<T>(
  attempt: (remainingMs: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(Math.max(1, opts.deadline - Date.now()));
    } catch (e) {
      const kind = opts.classify(e);
      if (kind === undefined || retry + 1 >= opts.maxAttempts || opts.signal?.aborted) throw e;
      const wait = backoffMs(kind, retry);
      if (Date.now() + wait >= opts.deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (opts.signal?.aborted) throw e;
    }
  }
}
