import { describe, expect, it } from 'vitest';
import { progressOn } from '../../../client/lib/progress.js';

function output(isTTY: boolean | undefined) {
  const written: string[] = [];
  return {
    out: { ...(isTTY === undefined ? {} : { isTTY }), write: (t: string) => written.push(t) },
    written,
  };
}

describe('progressOn', () => {
  it('on a terminal: shows the line while the step runs, then erases it', async () => {
    const { out, written } = output(true);
    const seen: string[] = [];
    const result = await progressOn(out)('lkp: looking up web-1 in EC2', async () => {
      seen.push(...written);
      return 42;
    });
    expect(result).toBe(42);
    expect(seen).toEqual(['lkp: looking up web-1 in EC2...']);
    expect(written).toEqual(['lkp: looking up web-1 in EC2...', '\r\x1b[K']);
  });

  it('erases the line when the step fails, so the error starts on a clean line', async () => {
    const { out, written } = output(true);
    await expect(progressOn(out)('lkp: slow', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(written).toEqual(['lkp: slow...', '\r\x1b[K']);
  });

  it.each([
    ['a pipe or file', false],
    ['an output that does not say', undefined],
  ])('writes nothing to %s', async (_, isTTY) => {
    const { out, written } = output(isTTY);
    await expect(progressOn(out)('lkp: slow', async () => 'done')).resolves.toBe('done');
    expect(written).toEqual([]);
  });
});
