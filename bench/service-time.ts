/**
 * The stand-ins' own cost, measured where it happens: every HTTP server in this process (the STS,
 * KMS, EC2 and Lambda stand-ins) reports through node:diagnostics_channel when a request's headers
 * arrive and when its answer is written. The time between is the stand-in's service time for
 * that request, recorded during the real load without changing the stand-ins. When each answer was
 * finished is also kept by the caller's port, for bench/attribution.ts.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Answers } from './attribution.js';
import { monotonicMs } from './clock.js';

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';

export interface ServiceTimes {
  /** Service times in ms of the server named `name` since the last reset. */
  samples(name: string): number[];
  /** The caller's port → when each answer to it was finished (ms, monotonic clock), since the last reset. */
  answers(): Answers;
  reset(): void;
  stop(): void;
}

/** `servers`: a name per local server URL, e.g. { sts: 'http://127.0.0.1:4001' }. */
export function recordServiceTimes(servers: Readonly<Record<string, string>>): ServiceTimes {
  const byPort = new Map(Object.entries(servers).map(([name, url]) => [Number(new URL(url).port), name]));
  const started = new WeakMap<ServerResponse, { name: string; at: number; port: number }>();
  let samples = new Map<string, number[]>();
  let answers = new Map<number, number[]>();

  const onStart = (message: unknown) => {
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    const name = byPort.get(request.socket.localPort ?? -1);
    if (name !== undefined) {
      started.set(response, { name, at: monotonicMs(), port: request.socket.remotePort ?? 0 });
    }
  };
  const onFinish = (message: unknown) => {
    const { response } = message as { response: ServerResponse };
    const start = started.get(response);
    if (start === undefined) return;
    const now = monotonicMs();
    const list = samples.get(start.name) ?? [];
    list.push(now - start.at);
    samples.set(start.name, list);
    const onConnection = answers.get(start.port) ?? [];
    onConnection.push(now);
    answers.set(start.port, onConnection);
  };
  subscribe(REQUEST_START, onStart);
  subscribe(RESPONSE_FINISH, onFinish);
  return {
    samples: (name) => samples.get(name) ?? [],
    answers: () => answers,
    reset: () => {
      samples = new Map();
      answers = new Map();
    },
    stop: () => {
      unsubscribe(REQUEST_START, onStart);
      unsubscribe(RESPONSE_FINISH, onFinish);
    },
  };
}
