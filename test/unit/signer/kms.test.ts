/**
 * The KMS signer against the local KMS stand-in through its JSON client (SigV4 included), with
 * `ssh-keygen -L` as the judge of every certificate; AWS-side failures the stand-in cannot
 * produce (access denied, throttling) come from a scripted loopback endpoint.
 */
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeySpec, KeyUsageType } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createCertificate,
  parsePublicKey,
  randomSerial,
  type CertificateTemplate,
} from '../../../src/cert/index.js';
import type { JsonObject } from '../../../src/aws/json-client.js';
import { kmsClient, type KmsClient } from '../../../src/aws/kms-json.js';
import { LkpError } from '../../../src/errors.js';
import { startKmsStandin, type KmsStandin } from '../../../src/local/kms-standin.js';
import { loadSigner } from '../../../src/signer/index.js';
import { kmsSigner } from '../../../src/signer/kms.js';
import type { Signer } from '../../../src/signer/signer.js';
import { inspectCertificate, makeKeyPair } from '../../helpers/ssh-keygen.js';
import { rejectionOf } from '../../helpers/rejection.js';

const REGION = 'eu-west-1';

/** KMS key spec → what `ssh-keygen -L` prints on its "Signing CA:" line. */
const SPECS: ReadonlyArray<readonly [KeySpec, string, string]> = [
  ['ECC_NIST_P256', 'ECDSA', 'ecdsa-sha2-nistp256'],
  ['ECC_NIST_P384', 'ECDSA', 'ecdsa-sha2-nistp384'],
  ['ECC_NIST_P521', 'ECDSA', 'ecdsa-sha2-nistp521'],
  ['RSA_2048', 'RSA', 'rsa-sha2-512'],
  ['RSA_3072', 'RSA', 'rsa-sha2-512'],
  ['RSA_4096', 'RSA', 'rsa-sha2-512'],
  ['ECC_NIST_EDWARDS25519', 'ED25519', 'ssh-ed25519'],
];

let dir: string;
let kms: KmsStandin;
let client: KmsClient;
let userKey: string;
const keyArns = new Map<KeySpec, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-kms-signer-'));
  kms = await startKmsStandin({ stateDir: join(dir, 'kms'), region: REGION });
  client = kmsClient({ region: REGION, endpoint: kms.url, credentials: kms.credentials });
  userKey = makeKeyPair(dir, 'ed25519', 'user').publicKey;
  await Promise.all(SPECS.map(async ([spec]) => keyArns.set(spec, (await kms.createKey(spec)).arn)));
});

afterAll(async () => {
  client?.destroy();
  await kms?.close();
  rmSync(dir, { recursive: true, force: true });
});

function template(overrides: Partial<CertificateTemplate> = {}): CertificateTemplate {
  const now = Math.floor(Date.now() / 1000);
  return {
    kind: 'user',
    publicKey: parsePublicKey(userKey),
    serial: randomSerial(),
    keyId: 'arn:aws:iam::111122223333:user/alice',
    principals: ['ec2-user@arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0'],
    validAfter: now - 60,
    validBefore: now + 3600,
    criticalOptions: {},
    extensions: ['permit-pty'],
    ...overrides,
  };
}

async function keyOf(spec: KeySpec, usage: KeyUsageType): Promise<string> {
  const created = await client.call('CreateKey', { KeySpec: spec, KeyUsage: usage });
  return (created['KeyMetadata'] as { Arn?: string } | undefined)?.Arn ?? '';
}

const failure = (promise: Promise<unknown>): Promise<Error> => rejectionOf(promise, Error);

describe('kmsSigner', () => {
  it.each(SPECS)('signs certificates ssh-keygen accepts with a %s key', async (spec, caType, algorithm) => {
    const signer = await kmsSigner(keyArns.get(spec) ?? '', client);
    expect(signer.algorithm).toBe(algorithm);
    expect(signer.publicKey).toMatch(/ lkp-ca$/);
    const caKey = parsePublicKey(signer.publicKey);
    expect(caKey.blob.equals(signer.publicKeyBlob)).toBe(true);

    const cert = await createCertificate(template(), signer);
    const listing = inspectCertificate(cert.line);
    expect(listing).toContain(`Signing CA: ${caType} ${caKey.fingerprint} (using ${algorithm})`);
    expect(listing).toContain('Key ID: "arn:aws:iam::111122223333:user/alice"');
  });

  it('fetches the public key once and calls kms:Sign once per certificate', async () => {
    const publicKeyCalls = kms.requestCount('GetPublicKey');
    const signCalls = kms.requestCount('Sign');
    const signer = await kmsSigner(keyArns.get('ECC_NIST_P256') ?? '', client);
    for (let i = 0; i < 5; i++) inspectCertificate((await createCertificate(template(), signer)).line);
    expect(kms.requestCount('GetPublicKey')).toBe(publicKeyCalls + 1);
    expect(kms.requestCount('Sign')).toBe(signCalls + 5);
  });

  it('finds the key by alias, alias ARN, key id and key ARN', async () => {
    const { keyId, arn } = await kms.createKey('ECC_NIST_P256', 'alias/lkp-ca');
    const aliasArn = `arn:aws:kms:${REGION}:111122223333:alias/lkp-ca`;
    const keys = await Promise.all(
      ['alias/lkp-ca', aliasArn, keyId, arn].map(async (ref) => (await kmsSigner(ref, client)).publicKey),
    );
    expect(new Set(keys).size).toBe(1);
  });

  it('signs certificates over the 4096-byte RAW limit with ECDSA and RSA keys (DIGEST)', async () => {
    const principals = Array.from(
      { length: 120 },
      (_, i) => `user${i}@arn:aws:ec2:eu-west-1:111122223333:instance/i-0${i}`,
    );
    for (const spec of ['ECC_NIST_P384', 'RSA_2048'] as const) {
      const cert = await createCertificate(
        template({ principals }),
        await kmsSigner(keyArns.get(spec) ?? '', client),
      );
      expect(cert.blob.length).toBeGreaterThan(4096);
      expect(inspectCertificate(cert.line)).toContain('user119@');
    }
  });

  it('refuses Ed25519 data over the KMS RAW limit without calling KMS', async () => {
    const signer = await kmsSigner(keyArns.get('ECC_NIST_EDWARDS25519') ?? '', client);
    const signCalls = kms.requestCount('Sign');
    await expect(signer.sign(Buffer.alloc(4096, 1))).resolves.toBeInstanceOf(Buffer);
    const error = await failure(signer.sign(Buffer.alloc(4097, 1)));
    expect(error).toBeInstanceOf(LkpError);
    expect((error as LkpError).code).toBe('Internal');
    expect(error.message).toMatch(/4097 bytes, over the 4096-byte limit of KMS ED25519_SHA_512/);
    expect(kms.requestCount('Sign')).toBe(signCalls + 1);
  });

  it.each([
    ['ECC_SECG_P256K1', 'SIGN_VERIFY', /has KeySpec ECC_SECG_P256K1, which cannot sign SSH certificates/],
    [
      'RSA_2048',
      'ENCRYPT_DECRYPT',
      /has KeyUsage ENCRYPT_DECRYPT; the CA needs an asymmetric SIGN_VERIFY key/,
    ],
    ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', /is not an asymmetric key; the CA needs a SIGN_VERIFY key/],
  ] as const)('refuses a %s %s key at creation, naming the supported specs', async (spec, usage, reason) => {
    const arn = await keyOf(spec, usage);
    const error = await failure(kmsSigner(arn, client));
    expect(error.message).toMatch(reason);
    expect(error.message).toContain(arn);
    expect(error.message).toContain(
      'ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, RSA_2048, RSA_3072, RSA_4096, ECC_NIST_EDWARDS25519',
    );
  });

  it('explains an unknown key', async () => {
    const error = await failure(kmsSigner('alias/no-such-key', client));
    expect(error.message).toMatch(/KMS key alias\/no-such-key does not exist .*check LKP_CA_KEY/);
  });

  it('explains a disabled key at creation and as Internal at sign time', async () => {
    const { arn } = await kms.createKey('ECC_NIST_P256');
    const signer = await kmsSigner(arn, client);
    await client.call('DisableKey', { KeyId: arn });
    const signError = await failure(signer.sign(Buffer.from('body')));
    expect(signError).toBeInstanceOf(LkpError);
    expect((signError as LkpError).code).toBe('Internal');
    expect(signError.message).toMatch(/the CA could not sign: KMS key .* is disabled; enable it/);
    expect((await failure(kmsSigner(arn, client))).message).toMatch(/is disabled; enable it/);
  });

  it('is what loadSigner returns for kms:, configured from the standard AWS environment', async () => {
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ENDPOINT_URL_KMS', kms.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', kms.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', kms.credentials.secretAccessKey);
    try {
      const arn = keyArns.get('RSA_3072') ?? '';
      const signer = await loadSigner({ kind: 'kms', keyId: arn });
      expect(signer.publicKey).toBe((await kmsSigner(arn, client)).publicKey);
      expect(inspectCertificate((await createCertificate(template(), signer)).line)).toContain(
        'rsa-sha2-512',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('kmsSigner checks what KMS answers', () => {
  /** `client`, with the answers to `operation` edited on their way back. */
  function editing(
    operation: string,
    edit: (answer: JsonObject, input: JsonObject) => Promise<JsonObject> | JsonObject,
  ): KmsClient {
    return {
      call: async (op, input) => {
        const answer = await client.call(op, input);
        return op === operation ? edit(answer, input) : answer;
      },
      destroy: () => undefined,
    };
  }

  async function signRefusal(signer: Signer): Promise<string> {
    const error = await failure(signer.sign(Buffer.from('body')));
    expect(error).toBeInstanceOf(LkpError);
    expect((error as LkpError).code).toBe('Internal');
    return error.message;
  }

  it('refuses a Sign answer that names another key or algorithm', async () => {
    const arn = keyArns.get('ECC_NIST_P256') ?? '';
    const other = keyArns.get('ECC_NIST_P384') ?? '';
    const forOtherKey = await kmsSigner(
      arn,
      editing('Sign', (a) => ({ ...a, KeyId: other })),
    );
    expect(await signRefusal(forOtherKey)).toContain(
      `answered kms:Sign for key ${other} with ECDSA_SHA_256, not key ${arn}`,
    );
    const withSha384 = await kmsSigner(
      arn,
      editing('Sign', (a) => ({ ...a, SigningAlgorithm: 'ECDSA_SHA_384' })),
    );
    expect(await signRefusal(withSha384)).toMatch(/with ECDSA_SHA_384, not key .* with ECDSA_SHA_256/);
    const unnamed = await kmsSigner(
      arn,
      editing('Sign', ({ KeyId: _, ...a }) => a),
    );
    expect(await signRefusal(unnamed)).toMatch(/for key undefined/);
  });

  it('refuses a key whose GetPublicKey answer names no key ARN, at creation', async () => {
    const arn = keyArns.get('ECC_NIST_P256') ?? '';
    const error = await failure(
      kmsSigner(
        arn,
        editing('GetPublicKey', ({ KeyId: _, ...a }) => a),
      ),
    );
    expect(error.message).toMatch(/KMS returned no key ARN for .*check AWS_ENDPOINT_URL_KMS/);
  });

  it('verifies signatures against the published key until one verifies', async () => {
    const arn = keyArns.get('ECC_NIST_P256') ?? '';
    const impostor = (await kms.createKey('ECC_NIST_P256')).arn;
    let swap = true;
    // Named right, signed by another P-256 key: only verifying the signature can tell.
    const signer = await kmsSigner(
      arn,
      editing('Sign', async (answer, input) =>
        swap
          ? { ...answer, Signature: (await client.call('Sign', { ...input, KeyId: impostor }))['Signature'] }
          : answer,
      ),
    );
    for (let i = 0; i < 2; i++) {
      expect(await signRefusal(signer)).toMatch(
        /returned a signature that does not verify with its public key/,
      );
    }
    swap = false;
    expect(inspectCertificate((await createCertificate(template(), signer)).line)).toContain('ECDSA');
  });
});

describe('kmsSigner facing AWS-side refusals', () => {
  let server: Server;
  let errorType = '';
  let scripted: KmsClient;
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  const arn = `arn:aws:kms:${REGION}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

  beforeAll(async () => {
    // GetPublicKey succeeds unless the script says otherwise; Sign always answers `errorType`.
    server = createServer((req, res) => {
      const op = String(req.headers['x-amz-target']).replace('TrentService.', '');
      const answer = (status: number, body: object) => {
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      req.resume().on('end', () => {
        if (op === 'GetPublicKey' && !errorType.startsWith('GetPublicKey:')) {
          return answer(200, {
            KeyId: arn,
            KeySpec: 'ECC_NIST_P256',
            KeyUsage: 'SIGN_VERIFY',
            SigningAlgorithms: ['ECDSA_SHA_256'],
            PublicKey: spki.toString('base64'),
          });
        }
        answer(400, {
          __type: errorType.replace('GetPublicKey:', ''),
          message: 'User: arn:aws:sts::111122223333:assumed-role/ca-role/session-secret is not authorized',
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    scripted = kmsClient({
      region: REGION,
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'not-checked-here' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    scripted?.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function signFailure(type: string): Promise<LkpError> {
    errorType = type;
    const signer: Signer = await kmsSigner(arn, scripted);
    const error = await failure(signer.sign(Buffer.from('body')));
    expect(error).toBeInstanceOf(LkpError);
    expect((error as LkpError).code).toBe('Internal');
    // KMS messages name the role session; the caller must not see them.
    expect(error.message).not.toContain('session-secret');
    return error as LkpError;
  }

  it('names the missing kms:Sign permission', async () => {
    expect((await signFailure('AccessDeniedException')).message).toBe(
      `the CA could not sign: the CA role may not kms:Sign key ${arn}; allow kms:Sign on it in the key policy or the role's IAM policy`,
    );
  });

  it('names throttling and the quota', async () => {
    expect((await signFailure('ThrottlingException')).message).toMatch(
      /KMS throttled kms:Sign .*request-rate quota/,
    );
  });

  it('keeps unknown KMS failures generic', async () => {
    expect((await signFailure('KMSInternalException')).message).toMatch(
      /failed \(KMSInternalException\); see the CA logs/,
    );
  });

  it('names the missing kms:GetPublicKey permission at creation', async () => {
    errorType = 'GetPublicKey:AccessDeniedException';
    const error = await failure(kmsSigner(arn, scripted));
    expect(error.message).toBe(
      `cannot load the CA key: the CA role may not kms:GetPublicKey key ${arn}; allow kms:GetPublicKey on it in the key policy or the role's IAM policy`,
    );
  });
});
