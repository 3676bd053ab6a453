/**
 * The one question lkp asks the ssh-agent on every login: which keys does it hold? (The agent
 * protocol, draft-miller-ssh-agent: SSH_AGENTC_REQUEST_IDENTITIES.) Asked over the agent's socket
 * directly, because spawning `ssh-add -L` added a process to every cached `lkp ssh`.
 */
import { connect } from 'node:net';
import { SshReader } from '../../src/cert/wire.js';

const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
/** An agent answer bigger than this is not one lkp wants to read (a key is ~100 bytes). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** The base64 public key blobs the agent at `socketPath` holds. Rejects when it cannot be asked. */
export function agentKeyBlobs(socketPath: string, timeoutMs = 5000): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: () => Set<string>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(outcome());
      } catch (e) {
        reject(e as Error);
      }
    };
    const fail = (message: string) => () => {
      throw new Error(message);
    };
    const timer = setTimeout(finish, timeoutMs, fail(`the ssh-agent did not answer within ${timeoutMs} ms`));
    socket.on('error', (e) => finish(fail(`cannot reach the ssh-agent: ${e.message}`)));
    socket.on('end', () => finish(fail('the ssh-agent closed the connection without answering')));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const data = Buffer.concat(chunks);
      const length = data.length >= 4 ? data.readUInt32BE(0) : undefined;
      if (length !== undefined && length > MAX_ANSWER_BYTES)
        finish(fail('the ssh-agent answer is too large'));
      else if (length !== undefined && data.length >= 4 + length)
        finish(() => identities(data.subarray(4, 4 + length)));
    });
    socket.write(Buffer.from([0, 0, 0, 1, REQUEST_IDENTITIES]));
  });
}

/** SSH_AGENT_IDENTITIES_ANSWER: byte 12, uint32 count, then count × (string key blob, string comment). */
function identities(message: Buffer): Set<string> {
  if (message[0] !== IDENTITIES_ANSWER) {
    throw new Error(`the ssh-agent answered message type ${message[0] ?? 'none'} to a key listing`);
  }
  const reader = new SshReader(
    message.subarray(1),
    (problem) => new Error(`unreadable ssh-agent answer (${problem})`),
  );
  const blobs = new Set<string>();
  for (let count = reader.uint32(); count > 0; count--) {
    blobs.add(reader.string().toString('base64'));
    reader.string(); // comment
  }
  reader.end();
  return blobs;
}
