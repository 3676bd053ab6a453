import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The repository root, where the built `dist/` lives. */
export const repoRoot = join(import.meta.dirname, '..', '..');

/** `lkp` as shipped (package.json "bin"): the single-file bundle `npm run build` makes. */
export const LKP_CLI = join(repoRoot, 'dist', 'lkp.cjs');

export interface NodeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file` and reports how it ended instead of throwing: a non-zero exit is an outcome here. */
export async function runProgram(
  file: string,
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; timeout: number },
): Promise<NodeRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, opts);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const { code, stdout = '', stderr = '' } = e as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof code === 'number' ? code : -1, stdout, stderr };
  }
}

/**
 * Runs `node <args>` from the repository root with only PATH and `env` set (no ambient AWS
 * settings, no instance metadata lookups) and reports how it ended instead of throwing.
 */
export function runNode(
  args: readonly string[],
  env: Record<string, string> = {},
  timeout = 60_000,
): Promise<NodeRun> {
  return runProgram(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    timeout,
  });
}
