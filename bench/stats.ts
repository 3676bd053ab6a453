/** Small statistics shared by the benchmarks: tinybench results and latency percentiles. */
import type { Task } from 'tinybench';

/** Operations per second from a finished tinybench task: 1000 / mean latency in ms. */
export function meanOpsPerSecond(task: Task | undefined): number {
  const result = task?.result;
  if (result === undefined || !('latency' in result)) {
    const error = result && 'error' in result ? String(result.error) : (result?.state ?? 'not run');
    throw new Error(`benchmark task ${task?.name ?? '?'} did not complete: ${error}`);
  }
  return 1000 / result.latency.mean;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

/** Rounds for the table and results.json: figures are noisy beyond 3 significant digits. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const scale = 10 ** Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(value))));
  return Math.round(value * scale) / scale;
}
