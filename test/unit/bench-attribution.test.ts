/** How bench/attribution.ts splits a request's time in the CA between the CA and the stand-ins. */
import { describe, expect, it } from 'vitest';
import { answerTo, attribute, type ServedRequest } from '../../bench/attribution.js';

const request = (calls: ServedRequest['calls']): ServedRequest => ({ started: 100, finished: 120, calls });

describe('attribute', () => {
  it('charges each call to the stand-ins from its creation to the stand-in finishing its answer', () => {
    const served = request([
      { port: 5001, started: 101 },
      { port: 5002, started: 110 },
    ]);
    const answers = new Map([
      [5001, [104]],
      [5002, [112]],
    ]);
    expect(attribute(served, answers)).toEqual({ ownMs: 15, waitingMs: 5 });
  });

  it('takes the first answer on the call’s connection after the call started', () => {
    const answers = new Map([[5001, [90, 104, 130]]]);
    expect(answerTo({ port: 5001, started: 101 }, answers)).toBe(104);
    expect(answerTo({ port: 5001, started: 131 }, answers)).toBeUndefined();
    expect(answerTo({ port: 5002, started: 101 }, answers)).toBeUndefined();
  });

  it('counts an unanswered or unmatched call as the CA’s own time', () => {
    const served = request([
      { port: 5001, started: 101 },
      { port: 0, started: 105 },
    ]);
    expect(attribute(served, new Map([[5001, [104]]]))).toEqual({ ownMs: 17, waitingMs: 3 });
  });

  it('counts overlapping calls once and clips them to the request', () => {
    const served = request([
      { port: 1, started: 95 },
      { port: 2, started: 102 },
      { port: 3, started: 118 },
    ]);
    const answers = new Map([
      [1, [104]],
      [2, [106]],
      [3, [130]],
    ]);
    expect(attribute(served, answers)).toEqual({ ownMs: 12, waitingMs: 8 });
  });
});
