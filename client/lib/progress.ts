/**
 * Progress for the slow steps of a login (an EC2 lookup; a CA call, which may meet a cold Lambda):
 * one line on stderr while the step runs, erased when it ends, so ssh's own output follows on a
 * clean line. Only on a terminal: a pipe, a log file or `--json` gets nothing.
 */
import { wantsJson } from '../errors.js';

/** Runs `step`, showing `message` meanwhile. */
export type Progress = <T>(message: string, step: () => Promise<T>) => Promise<T>;

export interface ProgressOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** Carriage return and "erase to end of line": the progress line disappears. */
const ERASE_LINE = '\r\x1b[K';

export const noProgress: Progress = (_message, step) => step();

export function progressOn(out: ProgressOutput): Progress {
  if (out.isTTY !== true) return noProgress;
  return async (message, step) => {
    out.write(`${message}...`);
    try {
      return await step();
    } finally {
      out.write(ERASE_LINE);
    }
  };
}

/** stderr's progress, unless told to be quiet or the command prints JSON. */
export function terminalProgress(quiet = false): Progress {
  return quiet || wantsJson(process.argv.slice(2)) ? noProgress : progressOn(process.stderr);
}
