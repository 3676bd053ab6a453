/**
 * Our retries (src/aws/retry.ts) against the installed SDK's standard retry strategy: the same
 * constants, the same backoff for the same random draw, and the same verdict on every error sample.
 */
import {
  DEFAULT_MAX_ATTEMPTS,
  MAXIMUM_RETRY_DELAY,
  Retry,
  StandardRetryStrategy,
  isThrottlingError,
  isTransientError,
} from '@smithy/core/retry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AwsTimeoutError,
  BACKOFF,
  backoffMs,
  MAX_ATTEMPTS,
  retryKindOfAnswer,
  retryKindOfFailure,
  THROTTLING_CODES,
  type RetryKind,
} from '../../src/aws/retry.js';

/** How the SDK sees a service error: its code as the error's name, the status in $metadata. */
const sdkServiceError = (code: string, status: number) =>
  Object.assign(new Error(code), { name: code, $metadata: { httpStatusCode: status } });

function sdkKind(error: Error): RetryKind | undefined {
  const sdkError = error as Parameters<typeof isTransientError>[0];
  if (isThrottlingError(sdkError)) return 'throttling';
  if (isTransientError(sdkError)) return 'transient';
  return undefined; // SERVER_ERROR and CLIENT_ERROR: the standard strategy retries neither
}

afterEach(() => vi.restoreAllMocks());

describe('retry conformance with @smithy/core/retry', () => {
  it('makes as many attempts and uses the same backoff bases and cap', () => {
    expect(MAX_ATTEMPTS).toBe(DEFAULT_MAX_ATTEMPTS);
    expect(BACKOFF).toEqual({
      baseMs: Retry.delay(),
      throttlingBaseMs: Retry.throttlingDelay(),
      maxMs: MAXIMUM_RETRY_DELAY,
    });
  });

  it('waits what the SDK waits for the same random draw, after throttling and otherwise', () => {
    interface Backoff {
      setDelayBase(ms: number): void;
      computeNextBackoffDelay(retry: number): number;
    }
    const sdk = (new StandardRetryStrategy(3) as unknown as { retryBackoffStrategy: Backoff })
      .retryBackoffStrategy;
    for (const draw of [0, 0.01, 0.37, 0.5, 0.999])
      for (const retry of [0, 1, 2, 5, 12])
        for (const kind of ['throttling', 'transient'] as const) {
          vi.spyOn(Math, 'random').mockReturnValue(draw);
          sdk.setDelayBase(kind === 'throttling' ? Retry.throttlingDelay() : Retry.delay());
          expect(
            backoffMs(kind, retry, () => draw),
            `${kind} ${retry} ${draw}`,
          ).toBe(sdk.computeNextBackoffDelay(retry));
        }
  });

  const codes = [
    ...THROTTLING_CODES,
    'TimeoutError',
    'RequestTimeout',
    'RequestTimeoutException',
    'InternalError',
    'InternalFailure',
    'ServiceUnavailable',
    'AccessDenied',
    'AccessDeniedException',
    'InvalidInstanceID.NotFound',
    'NoSuchEntity',
    'NotFoundException',
    'SignatureDoesNotMatch',
    'ExpiredToken',
    'ResourceNotFoundException',
  ];
  const statuses = [400, 403, 404, 409, 429, 500, 501, 502, 503, 504, 505];

  it('retries the same service answers (code × status) as the SDK', () => {
    const differences: string[] = [];
    for (const code of [...codes, undefined])
      for (const status of statuses) {
        const ours = retryKindOfAnswer(code, status);
        const sdk = sdkKind(sdkServiceError(code ?? 'UnknownError', status));
        if (ours !== sdk) differences.push(`${code} ${status}: ours ${ours}, SDK ${sdk}`);
      }
    expect(differences).toEqual([]);
  });

  it('retries the same failures to get an answer as the SDK', () => {
    const failures: Error[] = [
      ...[
        'ECONNRESET',
        'ECONNREFUSED',
        'EPIPE',
        'ETIMEDOUT',
        'EHOSTUNREACH',
        'ENETUNREACH',
        'ENOTFOUND',
        'EAI_AGAIN',
      ].map((code) => Object.assign(new Error(code), { code })),
      ...['EACCES', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'ERR_INVALID_URL'].map((code) =>
        Object.assign(new Error(code), { code }),
      ),
      new AwsTimeoutError('no answer within 3000 ms'),
      Object.assign(new Error('aborted'), { name: 'AbortError' }),
      new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }),
      new TypeError('x is undefined'),
    ];
    for (const failure of failures)
      expect(retryKindOfFailure(failure), `${failure.name} ${failure.message}`).toBe(sdkKind(failure));
  });
});
