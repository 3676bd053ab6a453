/** The five outcomes a caller can see (DESIGN §3.3). */
export type ErrorCode = 'BadRequest' | 'Unauthenticated' | 'Forbidden' | 'PolicyError' | 'Internal';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BadRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  PolicyError: 502,
  Internal: 500,
};

/**
 * An error with a code and a message safe to return to the caller. `detail` goes to the
 * audit line only; `cause` keeps the chain for logs. Neither may hold secrets (DESIGN §5).
 */
export class LkpError extends Error {
  override readonly name = 'LkpError';
  readonly detail: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { cause?: unknown; detail?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.detail = options.detail ?? {};
  }
}

export const badRequest = (message: string, detail?: Record<string, string>) =>
  new LkpError('BadRequest', message, { detail });
export const unauthenticated = (message: string, detail?: Record<string, string>) =>
  new LkpError('Unauthenticated', message, { detail });
export const forbidden = (message: string, detail?: Record<string, string>) =>
  new LkpError('Forbidden', message, { detail });
export const policyError = (message: string, detail?: Record<string, string>) =>
  new LkpError('PolicyError', message, { detail });
export const internal = (message: string, cause?: unknown) => new LkpError('Internal', message, { cause });

/** Anything thrown that is not ours becomes Internal with a generic message: its text may hold secrets. */
export function asLkpError(e: unknown): LkpError {
  if (e instanceof LkpError) return e;
  return internal('internal error; see the CA logs', e);
}
