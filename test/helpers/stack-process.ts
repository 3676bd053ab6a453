/**
 * `npm start -- --keep-running` as a person runs it: a process that prints the everyday path and
 * stays up until a signal. Tests read the printed lines from its output and check that a signal
 * stops every process it started.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

export interface StackProcess {
  child: ChildProcess;
  output(): string;
  /** The shell lines printed for a person to try (the indented block after "Try the everyday path"). */
  lines: string[];
  /** Every live process below it, with its command name. */
  descendants(): Array<{ pid: number; comm: string }>;
  /** Sends `signal` and resolves with how the process ended. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startStackProcess(
  command: string,
  args: readonly string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<StackProcess> {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no everyday path printed in time:\n${output}`)),
      opts.timeoutMs,
    );
    const check = () => {
      if (/\n`lkp setup` adds an Include line/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited (${code}) before printing the everyday path:\n${output}`));
    });
  });
  return {
    child,
    output: () => output,
    lines: printedLines(output),
    descendants: () => descendantsOf(child.pid ?? -1),
    stop: async (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

/** The indented block of shell lines that follows "Try the everyday path"; comments are not commands. */
export function printedLines(output: string): string[] {
  const after = output.slice(output.indexOf('Try the everyday path'));
  const block = /\n\n((?: {4}\S.*\n)+)\n/.exec(after)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.slice(4))
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function descendantsOf(root: number): Array<{ pid: number; comm: string }> {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), comm: m[3] ?? '' }));
  const found: Array<{ pid: number; comm: string }> = [];
  const walk = (pid: number) => {
    for (const p of table.filter((t) => t.ppid === pid)) {
      found.push({ pid: p.pid, comm: programOf(p.pid) ?? p.comm });
      walk(p.pid);
    }
  };
  walk(root);
  return found;
}

/**
 * The program a process runs, by its executable's name: Node 24 names its main thread
 * "MainThread", which is what `ps` shows as its command name.
 */
function programOf(pid: number): string | undefined {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return undefined;
  }
}

/** Whether a process is still running (a zombie has exited: it only waits for its parent to reap it). */
export function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
