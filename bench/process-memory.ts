/** Memory and CPU use of a child process, read from Linux's /proc (elsewhere: unknown). */
import { readdirSync, readFileSync } from 'node:fs';

/** The pid of this process's child whose command line contains every one of `words`. */
export function findChild(words: readonly string[]): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (words.every((w) => cmdline.some((arg) => arg.includes(w)))) return Number(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** VmHWM: the most resident memory the process has used so far, in MB. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time the process has used so far, in ms (/proc/<pid>/stat fields 14 and 15). */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Clock ticks; Linux reports them at USER_HZ = 100 on every architecture Node supports.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
