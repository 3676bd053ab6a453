import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certCache, certificateUsable, RENEW_MARGIN_SECONDS } from '../../../client/lib/cert-cache.js';
import { agentKeyStore, fileKeyStore, generateEd25519 } from '../../../client/lib/keys.js';
import { createCertificate, parsePublicKey } from '../../../src/cert/index.js';
import { generateKeyPair } from '../../../src/local/openssh.js';
import { fileSigner } from '../../../src/signer/file.js';
import type { CertResponse } from '../../../src/protocol.js';

const NOW = 1_700_000_000;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function userCert(
  publicKey: string,
  validBefore: number,
  kind: 'user' | 'host' = 'user',
): Promise<string> {
  const ca = existsSync(join(dir, 'ca'))
    ? { privatePath: join(dir, 'ca') }
    : await generateKeyPair(dir, 'ca');
  const signed = await createCertificate(
    {
      kind,
      publicKey: parsePublicKey(publicKey),
      serial: 42n,
      keyId: 'test',
      principals: ['ec2-user@arn'],
      validAfter: NOW - 60,
      validBefore,
      criticalOptions: {},
      extensions: kind === 'user' ? ['permit-pty'] : [],
    },
    await fileSigner(ca.privatePath),
  );
  return signed.line;
}

describe('ed25519 keys', () => {
  it('writes an OpenSSH private key that ssh-keygen reads back to the same public key', () => {
    const key = generateEd25519('lkp-test');
    const path = join(dir, 'k');
    writeFileSync(path, key.privateKey, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', path], { encoding: 'utf8' }).trim();
    expect(derived.split(' ').slice(0, 2)).toEqual(key.publicKey.split(' ').slice(0, 2));
    expect(key.fingerprint).toBe(parsePublicKey(key.publicKey).fingerprint);
  });

  it('file store: 0600 private key, reloaded on the next run', async () => {
    const store = fileKeyStore(join(dir, 'files'));
    expect(await store.load()).toBeUndefined();
    const saved = await store.save(generateEd25519('x'), 3600);
    expect(statSync(saved.identityFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'files')).mode & 0o777).toBe(0o700);
    expect(await store.load()).toEqual(saved);
  });

  describe('agent store', () => {
    let agent: ChildProcess;
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      const socket = join(dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
      env = { PATH: process.env.PATH, SSH_AUTH_SOCK: socket };
    });
    afterAll(() => {
      agent.kill();
    });

    it('hands the private key to the agent and writes only the public key', async () => {
      const store = agentKeyStore(join(dir, 'agent'), env);
      expect(await store.load()).toBeUndefined();
      const key = generateEd25519('lkp-agent');
      const saved = await store.save(key, 600);
      expect(saved.identityFile.endsWith('.pub')).toBe(true);
      expect(readFileSync(saved.identityFile, 'utf8')).toBe(`${key.publicKey}\n`);
      expect(execFileSync('ssh-add', ['-L'], { env, encoding: 'utf8' })).toContain(
        key.publicKey.split(' ')[1],
      );
      expect(await store.load()).toEqual(saved);
      execFileSync('ssh-add', ['-D'], { env, stdio: 'ignore' });
      expect(await store.load()).toBeUndefined(); // the agent forgot it: a new key is needed
    });
  });
});

describe('certificate cache', () => {
  it('a certificate is usable until 5 minutes before it expires, for its own key only', async () => {
    const key = generateEd25519('k');
    const cert = await userCert(key.publicKey, NOW + 3600);
    expect(certificateUsable(cert, key.fingerprint, NOW)).toBe(true);
    expect(certificateUsable(cert, key.fingerprint, NOW + 3600 - RENEW_MARGIN_SECONDS - 1)).toBe(true);
    expect(certificateUsable(cert, key.fingerprint, NOW + 3600 - RENEW_MARGIN_SECONDS)).toBe(false);
    expect(certificateUsable(cert, generateEd25519('other').fingerprint, NOW)).toBe(false);
    expect(certificateUsable(await userCert(key.publicKey, NOW + 3600, 'host'), key.fingerprint, NOW)).toBe(
      false,
    );
    expect(certificateUsable('garbage', key.fingerprint, NOW)).toBe(false);
  });

  it('stores answers per (target ARN, user), with jumpbox certificates, and reads back only usable ones', async () => {
    const key = generateEd25519('k');
    const cache = certCache(join(dir, 'certs'));
    const response: CertResponse = {
      Kind: 'User',
      Certificate: await userCert(key.publicKey, NOW + 3600),
      KeyId: 'test',
      Serial: '42',
      Principals: ['ec2-user@arn'],
      ValidAfter: NOW - 60,
      ValidBefore: NOW + 3600,
      CaPublicKeys: [],
      Jumpboxes: [{ Address: 'b', User: 'j', HostKeyAlias: 'b', Certificate: 'jump-cert' }],
    };
    const written = cache.write('arn:a', 'ec2-user', response);
    expect(readFileSync(written.certificateFile, 'utf8')).toBe(`${response.Certificate}\n`);
    expect(readFileSync(written.jumpboxCertificateFiles[0] ?? '', 'utf8')).toBe('jump-cert\n');
    expect(cache.read('arn:a', 'ec2-user', key.fingerprint, NOW)).toEqual(written);
    expect(cache.read('arn:a', 'root', key.fingerprint, NOW)).toBeUndefined();
    expect(cache.read('arn:b', 'ec2-user', key.fingerprint, NOW)).toBeUndefined();
    expect(cache.read('arn:a', 'ec2-user', key.fingerprint, NOW + 3500)).toBeUndefined();
    rmSync(written.jumpboxCertificateFiles[0] ?? '');
    expect(cache.read('arn:a', 'ec2-user', key.fingerprint, NOW)).toBeUndefined();
  });
});
