/** The one exit path of the `lkp` CLI: a message, an optional fix-it hint, a documented exit code. */
import { CaRequestError } from './lib/ca-client.js';

/** Exit codes (docs/cli.md). */
export const EXIT = { ok: 0, error: 1, usage: 2, denied: 3, unreachable: 4 } as const;

/** The `code` of a `--json` error when nothing more specific is known: named after the exit code. */
const CODE_OF_EXIT: Record<number, string> = {
  [EXIT.error]: 'Error',
  [EXIT.usage]: 'Usage',
  [EXIT.denied]: 'Denied',
  [EXIT.unreachable]: 'Unreachable',
};

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
    readonly hint?: string,
    /** For `--json`: the CA's Error.Code when the CA refused, else the exit code's name. */
    readonly code: string = CODE_OF_EXIT[exitCode] ?? 'Error',
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
        'check --ca (or the lkp profile: lkp setup) and that the CA is running',
        'Unreachable',
      );
    if (e.code === 'Forbidden' || e.code === 'Unauthenticated')
      return new CliError(`the CA refused: ${e.message}`, EXIT.denied, undefined, e.code);
    return new CliError(`the CA answered ${e.code}: ${e.message}`, EXIT.error, undefined, e.code);
  }
  return new CliError(e instanceof Error ? e.message : String(e));
}

/** `--json` before any `--` (after it, arguments belong to ssh). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** The error as a `--json` command prints it, on stdout like its answers. */
export function errorJson(err: CliError): string {
  return `${JSON.stringify({
    error: {
      code: err.code,
      message: err.message,
      ...(err.hint ? { hint: err.hint } : {}),
      exitCode: err.exitCode,
    },
  })}\n`;
}

export function exitWith(e: unknown): never {
  const err = toCliError(e);
  if (wantsJson(process.argv.slice(2))) process.stdout.write(errorJson(err));
  else process.stderr.write(`lkp: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
  process.exit(err.exitCode);
}
