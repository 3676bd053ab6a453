/** The one exit path of the `lkp` CLI: a message, an optional fix-it hint, a documented exit code. */
import { CaRequestError } from './lib/ca-client.js';

/** Exit codes (docs/cli.md). */
export const EXIT = { ok: 0, error: 1, usage: 2, denied: 3, unreachable: 4 } as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof CaRequestError) {
    if (e.code === 'Transport')
      return new CliError(
        e.message,
        EXIT.unreachable,
        'check --ca (or LKP_CA_URL) and that the CA is running',
      );
    if (e.code === 'Forbidden' || e.code === 'Unauthenticated')
      return new CliError(`the CA refused: ${e.message}`, EXIT.denied);
    return new CliError(`the CA answered ${e.code}: ${e.message}`);
  }
  return new CliError(e instanceof Error ? e.message : String(e));
}

export function exitWith(e: unknown): never {
  const err = toCliError(e);
  process.stderr.write(`lkp: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
  process.exit(err.exitCode);
}
