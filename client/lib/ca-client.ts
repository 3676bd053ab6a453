/** The client's side of the wire contract (DESIGN §3): one JSON request to the CA's HTTP endpoint, one JSON answer. */
import type { ErrorCode } from '../../src/errors.js';
import type { CaRequest } from '../../src/protocol.js';

const ERROR_CODES: readonly ErrorCode[] = [
  'BadRequest',
  'Unauthenticated',
  'Forbidden',
  'PolicyError',
  'Internal',
];
const DEFAULT_TIMEOUT_MS = 15_000;

/** A refusal from the CA (its Error.Code and Message), or 'Transport' when no valid answer arrived. */
export class CaRequestError extends Error {
  override readonly name = 'CaRequestError';

  constructor(
    readonly code: ErrorCode | 'Transport',
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** POST the JSON request to the CA's HTTP endpoint (local server or Function URL); returns the parsed success body or throws CaRequestError with the CA's Error.Code/Message. */
export async function callCa<T>(
  caUrl: string,
  request: CaRequest,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let response: Response;
  try {
    response = await fetch(caUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(request),
      // The request carries an identity proof: never let a redirect carry it somewhere else.
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw transportError(caUrl, e, timeoutMs);
  }

  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch (e) {
    throw new CaRequestError(
      'Transport',
      `the CA at ${caUrl} answered HTTP ${response.status} with a body that is not JSON; check the CA URL`,
      response.status,
      { cause: e },
    );
  }
  const refusal = caRefusal(body);
  if (refusal) throw new CaRequestError(refusal.Code, refusal.Message, response.status);
  if (!response.ok || typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CaRequestError(
      'Transport',
      `the CA at ${caUrl} answered HTTP ${response.status} without a valid lkp response`,
      response.status,
    );
  }
  return body as T;
}

/** The CA's `{ Error: { Code, Message } }`, when `body` is one with a known code. */
export function caRefusal(body: unknown): { Code: ErrorCode; Message: string } | undefined {
  if (typeof body !== 'object' || body === null || !('Error' in body)) return undefined;
  const error: unknown = body.Error;
  if (typeof error !== 'object' || error === null || !('Code' in error) || !('Message' in error))
    return undefined;
  const { Code, Message } = error;
  const code = ERROR_CODES.find((c) => c === Code);
  return code && typeof Message === 'string' ? { Code: code, Message } : undefined;
}

function transportError(caUrl: string, e: unknown, timeoutMs: number): CaRequestError {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new CaRequestError(
      'Transport',
      `the CA at ${caUrl} did not answer within ${timeoutMs} ms`,
      undefined,
      {
        cause: e,
      },
    );
  }
  // fetch reports network failures as "fetch failed" with the useful part (e.g. ECONNREFUSED) in `cause`.
  const cause = e instanceof Error ? e.cause : undefined;
  const detail =
    cause instanceof Error
      ? ('code' in cause && typeof cause.code === 'string' && cause.code) || cause.message
      : '';
  const reason = detail || (e instanceof Error ? e.message : String(e));
  return new CaRequestError('Transport', `could not reach the CA at ${caUrl}: ${reason}`, undefined, {
    cause: e,
  });
}
