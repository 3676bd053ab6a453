/** client/lib/agent.ts against agents that answer badly (a real ssh-agent: lkp-keys-cache.test.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { agentKeyBlobs } from '../../../client/lib/agent.js';
import { sshString, uint32 } from '../../../src/cert/wire.js';

const dir = mkdtempSync(join(tmpdir(), 'lkp-agent-'));
let server: Server | undefined;
afterEach(() => server?.close());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake agent at a fresh socket that hands each connection to `answer` once it has the request. */
async function fakeAgent(answer: (socket: Socket, request: Buffer) => void): Promise<string> {
  const path = join(dir, `agent-${Math.random().toString(36).slice(2)}.sock`);
  server = createServer((socket) => socket.once('data', (request: Buffer) => answer(socket, request)));
  await new Promise<void>((resolve) => server?.listen(path, resolve));
  return path;
}

const message = (...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([uint32(body.length), body]);
};
const identitiesAnswer = (keys: Buffer[]) =>
  message(Buffer.of(12), uint32(keys.length), ...keys.flatMap((k) => [sshString(k), sshString('comment')]));

describe('agentKeyBlobs', () => {
  it('asks with SSH_AGENTC_REQUEST_IDENTITIES and reads every key, even when the answer comes in pieces', async () => {
    const keys = [Buffer.from('first key blob'), Buffer.from('second')];
    let asked: Buffer | undefined;
    const path = await fakeAgent((socket, request) => {
      asked = request;
      const answer = identitiesAnswer(keys);
      socket.write(answer.subarray(0, 3));
      setTimeout(() => socket.end(answer.subarray(3)), 20);
    });
    expect(await agentKeyBlobs(path)).toEqual(new Set(keys.map((k) => k.toString('base64'))));
    expect(asked).toEqual(Buffer.from([0, 0, 0, 1, 11]));
  });

  it('reads an agent holding no keys as an empty set', async () => {
    const path = await fakeAgent((socket) => socket.end(identitiesAnswer([])));
    expect(await agentKeyBlobs(path)).toEqual(new Set());
  });

  const refusals: [string, (socket: Socket) => void, RegExp][] = [
    ['SSH_AGENT_FAILURE', (s) => s.end(message(Buffer.of(5))), /message type 5/],
    [
      'a key count past the end',
      (s) => s.end(message(Buffer.of(12), uint32(3))),
      /unreadable ssh-agent answer/,
    ],
    [
      'bytes after the last key',
      (s) => s.end(message(Buffer.of(12), uint32(0), Buffer.of(0))),
      /unreadable ssh-agent answer/,
    ],
    ['a length past the cap', (s) => s.end(uint32(2 ** 31)), /too large/],
    ['a close before the answer', (s) => s.end(uint32(10)), /closed the connection/],
  ];
  for (const [what, answer, error] of refusals) {
    it(`refuses ${what}`, async () => {
      const path = await fakeAgent(answer);
      await expect(agentKeyBlobs(path)).rejects.toThrow(error);
    });
  }

  it('gives up on an agent that never answers', async () => {
    const path = await fakeAgent(() => undefined);
    await expect(agentKeyBlobs(path, 50)).rejects.toThrow(/did not answer within 50 ms/);
  });

  it('rejects when there is no agent at the socket', async () => {
    await expect(agentKeyBlobs(join(dir, 'nobody.sock'))).rejects.toThrow(/cannot reach the ssh-agent/);
  });
});
