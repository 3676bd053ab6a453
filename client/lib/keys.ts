/**
 * The client's login key (DESIGN §4): one fresh ed25519 key pair per CA profile, held by the
 * ssh-agent when one runs (nothing secret is written) or in 0600 files under ~/.lkp/keys/<profile>/.
 *
 * Keys are made with node:crypto and written in OpenSSH's private key format (PROTOCOL.key, no
 * cipher) by hand: it is a few fields, it lets the private key go to `ssh-add -` on stdin without
 * touching disk, and it saves a process start per key.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePublicKey } from '../../src/cert/index.js';
import { sshString, uint32 } from '../../src/cert/wire.js';
import { agentKeyBlobs } from './agent.js';
import { ensurePrivateDir } from './config.js';

export interface LoginKey {
  /** `ssh-ed25519 AAAA… <comment>` */
  publicKey: string;
  fingerprint: string;
  /** What ssh's IdentityFile names: the private key file, or (agent) the public key whose private half the agent holds. */
  identityFile: string;
}

export interface NewKey {
  publicKey: string;
  fingerprint: string;
  /** OpenSSH private key file text. */
  privateKey: string;
}

const ED25519 = 'ssh-ed25519';

export function generateEd25519(comment: string): NewKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  const blob = Buffer.concat([sshString(ED25519), sshString(pub)]);
  const line = `${ED25519} ${blob.toString('base64')} ${comment}`;
  return {
    publicKey: line,
    fingerprint: parsePublicKey(line).fingerprint,
    privateKey: openSshPrivateKey(blob, pub, seed, comment),
  };
}

/** PROTOCOL.key: "openssh-key-v1\0", cipher/kdf "none", one key, then the padded private section. */
function openSshPrivateKey(blob: Buffer, pub: Buffer, seed: Buffer, comment: string): string {
  const check = randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    sshString(ED25519),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])), // ed25519 "private key" = seed || public key
    sshString(comment),
  ]);
  const pad = (8 - (secret.length % 8)) % 8; // block size 8 for cipher "none"
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(blob),
    sshString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** Where a profile's key lives: in 0600 files, or in the ssh-agent at SSH_AUTH_SOCK. */
export interface KeyStore {
  /** The current key, when it is still usable (the agent forgets keys when their lifetime ends). */
  load(): Promise<LoginKey | undefined>;
  /** Keeps a new key for `lifetimeSeconds` (agent) or until replaced (files). */
  save(key: NewKey, lifetimeSeconds: number): Promise<LoginKey>;
}

export function keyStoreFor(dir: string, env: NodeJS.ProcessEnv = process.env): KeyStore {
  const socket = env.SSH_AUTH_SOCK;
  return socket && existsSync(socket) ? agentKeyStore(dir, env) : fileKeyStore(dir);
}

export function fileKeyStore(dir: string): KeyStore {
  const privatePath = join(dir, 'id_ed25519');
  const publicPath = `${privatePath}.pub`;
  return {
    async load() {
      if (!existsSync(privatePath) || !existsSync(publicPath)) return undefined;
      return loginKey(readFileSync(publicPath, 'utf8').trim(), privatePath);
    },
    async save(key) {
      ensurePrivateDir(dir);
      rmSync(privatePath, { force: true }); // a fresh file gets mode 0600 from the start
      writeFileSync(privatePath, key.privateKey, { mode: 0o600 });
      writeFileSync(publicPath, `${key.publicKey}\n`, { mode: 0o644 });
      return loginKey(key.publicKey, privatePath);
    },
  };
}

/** The private key goes to the agent on stdin (`ssh-add -t N -`); only the public key is written. */
export function agentKeyStore(dir: string, env: NodeJS.ProcessEnv = process.env): KeyStore {
  const publicPath = join(dir, 'agent_id_ed25519.pub');
  return {
    async load() {
      if (!existsSync(publicPath)) return undefined;
      const key = loginKey(readFileSync(publicPath, 'utf8').trim(), publicPath);
      return (await agentKeys(env)).has(keyBlob(key.publicKey)) ? key : undefined;
    },
    async save(key, lifetimeSeconds) {
      await addToAgent(key.privateKey, lifetimeSeconds, env);
      ensurePrivateDir(dir);
      writeFileSync(publicPath, `${key.publicKey}\n`, { mode: 0o644 });
      return loginKey(key.publicKey, publicPath);
    },
  };
}

function loginKey(publicKey: string, identityFile: string): LoginKey {
  return { publicKey, fingerprint: parsePublicKey(publicKey).fingerprint, identityFile };
}

const keyBlob = (line: string) => line.split(/\s+/)[1] ?? '';

/** The key blobs the agent holds; none when it cannot be asked (the key is then made and added again). */
async function agentKeys(env: NodeJS.ProcessEnv): Promise<Set<string>> {
  try {
    return await agentKeyBlobs(env.SSH_AUTH_SOCK ?? '');
  } catch {
    return new Set();
  }
}

function addToAgent(privateKey: string, lifetimeSeconds: number, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-add', ['-q', '-t', String(Math.max(1, Math.floor(lifetimeSeconds))), '-'], {
      env,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (e) => reject(new Error(`could not run ssh-add: ${e.message}`)));
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(`ssh-add could not add the lkp key to the agent: ${stderr.trim() || `exit ${code}`}`),
          ),
    );
    child.stdin.end(privateKey);
  });
}
