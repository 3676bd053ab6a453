/**
 * Key problems through the HTTP API (DESIGN §3.2: only sound ed25519, ECDSA, RSA ≥ 2048 and sk-
 * keys) and certificate-kind confusion, judged by a real OpenSSH sshd: a host certificate is not
 * a user certificate, whatever key it carries.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { mpintFromUnsigned, sshString, uint32 } from '../../src/cert/wire.js';
import { loginFor, trySsh, type LocalInstance } from '../../src/local/instance.js';
import type { KeyPair } from '../../src/local/openssh.js';
import { LOCAL_INSTANCE_ARN, type LocalStack } from '../../src/local/stack.js';
import type { InfoResponse } from '../../src/protocol.js';
import {
  blobOf,
  ecdsaP256PublicKey,
  ed25519PublicKey,
  expectNoSecretsIn,
  expectRefused,
  fingerprint,
  keyLine,
  postCa,
  rsaPublicKey,
  principalSecrets,
} from '../helpers/attack.js';
import { startSshLoginFixture, type SshLoginFixture } from '../helpers/ssh-login.js';

const loginUser = userInfo().username;
const MARKER = 'lkp-kind-ok';

let fixture: SshLoginFixture | undefined;
let stack: LocalStack;
let info: InfoResponse;
let instance: LocalInstance;
let userKey: KeyPair;
let userCertificatePath: string;
let userCertificate: string;

beforeAll(async () => {
  fixture = await startSshLoginFixture(loginUser, 'id_user');
  ({ stack, info, instance, userKey, userCertificatePath } = fixture);
  userCertificate = fixture.userCertificate.Certificate;
});
afterAll(async () => {
  await fixture?.close();
});

const ed = ed25519PublicKey();
const edBlob = blobOf(ed);
const ecdsaBlob = blobOf(ecdsaP256PublicKey());
const rsa2048 = rsaPublicKey(2048);

function ecdsaBlobWith(curveName: string, point: Buffer): Buffer {
  return Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString(curveName), sshString(point)]);
}
const p256Point = ecdsaBlob.subarray(ecdsaBlob.length - 65);

async function askWithKey(publicKey: string, proofKey = publicKey) {
  const before = stack.sts.requestCount();
  let keyFingerprint: string;
  try {
    keyFingerprint = fingerprint(proofKey);
  } catch {
    keyFingerprint = fingerprint(ed);
  }
  const answer = await postCa(stack.caUrl, {
    Kind: 'User',
    Identity: buildIdentityProof({
      stsEndpoint: info.StsEndpoint,
      region: info.StsRegion,
      serverId: info.ServerId,
      keyFingerprint,
      credentials: stack.user.credentials,
    }),
    PublicKey: publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: 'ec2-user',
  });
  return { ...answer, stsCalls: stack.sts.requestCount() - before };
}

describe('public keys through the HTTP API (DESIGN §3.2)', () => {
  it.each([
    ['ed25519', ed],
    ['ECDSA P-256', ecdsaP256PublicKey()],
    ['RSA 2048', rsa2048],
  ])('accepts a sound %s key (control)', async (_, key) => {
    const answer = await askWithKey(key);
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  });

  const dsa = keyLine(
    Buffer.concat([
      sshString('ssh-dss'),
      ...[128, 20, 128, 128].map((n) => mpintFromUnsigned(Buffer.alloc(n, 0x5a))),
    ]),
    'ssh-dss',
  );
  const bad: [string, () => string][] = [
    ['RSA 1024', () => rsaPublicKey(1024)],
    ['DSA', () => dsa],
    ['a certificate offered as a key', () => userCertificate],
    [
      'a certificate type name over a plain key blob',
      () => keyLine(edBlob, 'ssh-ed25519-cert-v01@openssh.com'),
    ],
    ['a truncated blob', () => keyLine(edBlob.subarray(0, edBlob.length - 1), 'ssh-ed25519')],
    ['trailing data after the key', () => keyLine(Buffer.concat([edBlob, Buffer.from([0])]), 'ssh-ed25519')],
    [
      'a length prefix past the end',
      () =>
        keyLine(
          Buffer.concat([sshString('ssh-ed25519'), uint32(0xffffffff), edBlob.subarray(19)]),
          'ssh-ed25519',
        ),
    ],
    [
      'a 31-byte ed25519 key',
      () => keyLine(Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31, 1))]), 'ssh-ed25519'),
    ],
    ['a type name that disagrees with the blob (ed25519 blob)', () => keyLine(edBlob, 'ssh-rsa')],
    ['a type name that disagrees with the blob (ECDSA blob)', () => keyLine(ecdsaBlob, 'ssh-ed25519')],
    ['an ECDSA point not on the curve', () => ecdsaP256PublicKey(true)],
    [
      'a compressed ECDSA point',
      () =>
        keyLine(
          ecdsaBlobWith('nistp256', Buffer.concat([Buffer.from([2]), p256Point.subarray(1, 33)])),
          'ecdsa-sha2-nistp256',
        ),
    ],
    [
      'the point at infinity',
      () => keyLine(ecdsaBlobWith('nistp256', Buffer.from([0])), 'ecdsa-sha2-nistp256'),
    ],
    [
      'an ECDSA key naming another curve',
      () => keyLine(ecdsaBlobWith('nistp384', p256Point), 'ecdsa-sha2-nistp256'),
    ],
    [
      'an all-zero ECDSA point',
      () =>
        keyLine(
          ecdsaBlobWith('nistp256', Buffer.concat([Buffer.from([4]), Buffer.alloc(64)])),
          'ecdsa-sha2-nistp256',
        ),
    ],
    ['an RSA exponent of 1', () => rsaPublicKey(2048, { e: Buffer.from([1]) })],
    ['an even RSA exponent', () => rsaPublicKey(2048, { e: Buffer.from([1, 0, 0]) })],
    [
      'an even RSA modulus',
      () =>
        rsaPublicKey(2048, {
          n: (n) => {
            n[n.length - 1] = (n[n.length - 1] ?? 0) & 0xfe;
            return n;
          },
        }),
    ],
    [
      'an sk key with an empty application',
      () =>
        keyLine(
          Buffer.concat([
            sshString('sk-ssh-ed25519@openssh.com'),
            sshString(Buffer.alloc(32, 7)),
            sshString(''),
          ]),
          'sk-ssh-ed25519@openssh.com',
        ),
    ],
    [
      'an unknown key type',
      () =>
        keyLine(
          Buffer.concat([sshString('ssh-xmss@openssh.com'), sshString(Buffer.alloc(32))]),
          'ssh-xmss@openssh.com',
        ),
    ],
    ['base64 with junk characters', () => ed.replace(' AAAA', ' AA!A')],
    [
      'non-canonical base64',
      () => {
        const [t, b = ''] = ed.split(' ');
        return `${t} ${b.slice(0, -1)}${b.endsWith('A') ? 'B' : 'A'}=`;
      },
    ],
    [
      'base64 split by a space',
      () => {
        const [t, b = ''] = ed.split(' ');
        return `${t} ${b.slice(0, 20)} ${b.slice(20)}`;
      },
    ],
    ['two keys on two lines', () => `${ed}\n${rsa2048}`],
    ['a NUL in the comment', () => `${ed}\0x`],
    ['an empty string', () => ''],
    ['a type name only', () => 'ssh-ed25519'],
    ['a 17 KiB line', () => `${ed} ${'c'.repeat(17 * 1024)}`],
  ];
  it.each(bad)('refuses %s with 400, before asking STS', async (_, make) => {
    const answer = await askWithKey(make(), ed);
    expectRefused(answer, [400]);
    expect(answer.stsCalls).toBe(0);
  });
});

describe('certificate kinds against a real sshd', () => {
  it('logs in with the user certificate (control)', async () => {
    const outcome = await trySsh(loginFor(instance, loginUser, userKey.privatePath, userCertificatePath), [
      'echo',
      MARKER,
    ]);
    expect(outcome).toMatchObject({ ok: true, stdout: `${MARKER}\n` });
  });

  it('refuses the host certificate (and its key) presented as a user certificate', async () => {
    const hostKeyPath = instance.hostCertificatePath.replace(/-cert\.pub$/, '');
    expect(existsSync(hostKeyPath)).toBe(true);
    const outcome = await trySsh(loginFor(instance, loginUser, hostKeyPath, instance.hostCertificatePath), [
      'echo',
      MARKER,
    ]);
    expect(outcome.ok).toBe(false);
    expect(outcome.stdout).not.toContain(MARKER);
  });

  it('never signs a host certificate for a user proof', async () => {
    const answer = await postCa(stack.caUrl, {
      Kind: 'Host',
      Identity: buildIdentityProof({
        stsEndpoint: info.StsEndpoint,
        region: info.StsRegion,
        serverId: info.ServerId,
        keyFingerprint: fingerprint(ed),
        credentials: stack.user.credentials,
      }),
      PublicKey: ed,
      HostInstanceArn: LOCAL_INSTANCE_ARN,
      Principals: ['127.0.0.1'],
    });
    expectRefused(answer, [403]);
  });
});

describe('logging (DESIGN §5)', () => {
  it('wrote no Authorization value, signature, session token, secret key or private key', () => {
    expectNoSecretsIn(stack.caOutput() + instance.sshd.log(), principalSecrets(stack.sts.principals));
  });
});
