/**
 * Whose time is it? A request's time inside the CA splits into the CA's own work and waiting for
 * the stand-ins. A call is charged to the stand-ins from the moment the CA created it
 * (bench/ca-probe.ts) until the stand-in finished writing its answer (bench/service-time.ts), on one
 * monotonic clock. Everything else between the request's arrival and its answer is the CA's: its
 * CPU, its queue behind other requests, and reading each answer once the stand-in has sent it.
 *
 * A call is matched with its answer by connection: the CA's local port, which the stand-in sees as
 * the remote port. HTTP/1.1 without pipelining carries one call at a time on a connection, and the
 * next only after the answer, so a call's answer is the first one written on its connection after
 * the call was created.
 */

/** One request the CA served; times in ms on the monotonic clock (bench/clock.ts). */
export interface ServedRequest {
  started: number;
  finished: number;
  /** `port`: the CA's end of the connection the call went out on; 0 when it got no answer. */
  calls: Array<{ port: number; started: number }>;
}

/** The CA's local port → when each answer on that connection was finished, in order. */
export type Answers = ReadonlyMap<number, readonly number[]>;

export interface Attributed {
  /** Time in the CA not covered by any stand-in's call, ms. */
  ownMs: number;
  /** Time at least one call was with a stand-in (or on its way to it), ms. */
  waitingMs: number;
}

/** A call with no answer on record is not subtracted: its time counts as the CA's. */
export function attribute(request: ServedRequest, answers: Answers): Attributed {
  const spans = request.calls
    .map((call): [number, number] => [
      Math.max(call.started, request.started),
      Math.min(answerTo(call, answers) ?? call.started, request.finished),
    ])
    .filter(([from, to]) => to > from)
    .sort((a, b) => a[0] - b[0]);
  let waitingMs = 0;
  let coveredTo = -Infinity;
  for (const [from, to] of spans) {
    // Calls that overlap (none do today: the pipeline is sequential) count once.
    const start = Math.max(from, coveredTo);
    if (to > start) waitingMs += to - start;
    coveredTo = Math.max(coveredTo, to);
  }
  return { ownMs: request.finished - request.started - waitingMs, waitingMs };
}

/** When the answer to `call` was finished: the first answer on its connection after it started. */
export function answerTo(call: { port: number; started: number }, answers: Answers): number | undefined {
  return answers.get(call.port)?.find((finished) => finished > call.started);
}
