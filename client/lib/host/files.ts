/** Files `lkp host` manages: compared before writing (so a second run changes nothing), written atomically. */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ManagedFile {
  path: string;
  content: string;
  mode: number;
}

export type FileState = 'new' | 'changed' | 'unchanged';

export function fileState(f: ManagedFile): FileState {
  const current = readIfExists(f.path);
  if (current === undefined) return 'new';
  return current === f.content && (statSync(f.path).mode & 0o7777) === f.mode ? 'unchanged' : 'changed';
}

export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Via a temp file and rename, so sshd never reads half a file. New folders are 0755: sshd checks
 * that the principals script's folders are not writable by others, and `nobody` must traverse them.
 */
export function writeManagedFile(f: ManagedFile): void {
  mkdirSync(dirname(f.path), { recursive: true, mode: 0o755 });
  const temp = `${f.path}.lkp-tmp`;
  writeFileSync(temp, f.content, { mode: f.mode });
  chmodSync(temp, f.mode); // writeFileSync's mode is filtered by the umask
  renameSync(temp, f.path);
}
