/**
 * The local KMS stand-in on the wire (DESIGN §6), driven by the real @aws-sdk/client-kms: the
 * operations the CA and the local stack use, KMS-shaped errors, SigV4 enforcement and persistence.
 * Signatures are checked with node:crypto, independently of the stand-in.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListAliasesCommand,
  SignCommand,
  type SignCommandInput,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKmsStandin, type KmsStandin } from '../../src/local/kms-standin.js';

const REGION = 'us-east-2';
const ACCOUNT = '111122223333';

let dir: string;
let kms: KmsStandin;
let client: KMSClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-kms-standin-'));
  kms = await startKmsStandin({ stateDir: join(dir, 'state'), region: REGION });
  client = clientFor(kms);
});

afterAll(async () => {
  client?.destroy();
  await kms?.close();
  rmSync(dir, { recursive: true, force: true });
});

function clientFor(standin: KmsStandin, credentials = standin.credentials): KMSClient {
  return new KMSClient({ region: REGION, endpoint: standin.url, credentials, maxAttempts: 1 });
}

async function publicKeyOf(keyId: string, via = client): Promise<KeyObject> {
  const out = await via.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({
    key: Buffer.from(out.PublicKey ?? new Uint8Array()),
    format: 'der',
    type: 'spki',
  });
}

async function signature(input: SignCommandInput): Promise<Buffer> {
  return Buffer.from((await client.send(new SignCommand(input))).Signature ?? new Uint8Array());
}

/** The error the SDK raised: its name (the KMS `__type`) and HTTP status. */
async function kmsError(
  promise: Promise<unknown>,
): Promise<{ name: string; status?: number; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
  );
  expect(error).toBeInstanceOf(Error);
  return { name: error?.name ?? '', status: error?.$metadata?.httpStatusCode, message: error?.message ?? '' };
}

const message = Buffer.from('certificate body to sign');

describe('KMS stand-in operations', () => {
  it('creates a SIGN_VERIFY key and describes it like KMS', async () => {
    const created = await client.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'lkp CA' }),
    );
    const keyId = created.KeyMetadata?.KeyId ?? '';
    expect(created.KeyMetadata).toMatchObject({
      AWSAccountId: ACCOUNT,
      Arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`,
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      KeyState: 'Enabled',
      Enabled: true,
      Description: 'lkp CA',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    expect(created.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    const described = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(described.KeyMetadata?.Arn).toBe(created.KeyMetadata?.Arn);
  });

  it('serves aliases: create, resolve, list, and refuse duplicates', async () => {
    const { keyId, arn } = await kms.createKey('ECC_NIST_P384');
    await client.send(new CreateAliasCommand({ AliasName: 'alias/integration-ca', TargetKeyId: keyId }));
    const viaAlias = await client.send(new DescribeKeyCommand({ KeyId: 'alias/integration-ca' }));
    expect(viaAlias.KeyMetadata?.Arn).toBe(arn);
    const viaAliasArn = await client.send(
      new GetPublicKeyCommand({ KeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/integration-ca` }),
    );
    expect(viaAliasArn.KeyId).toBe(arn);
    const aliases = await client.send(new ListAliasesCommand({}));
    expect(aliases.Aliases).toContainEqual(
      expect.objectContaining({ AliasName: 'alias/integration-ca', TargetKeyId: keyId }),
    );
    const duplicate = await kmsError(
      client.send(new CreateAliasCommand({ AliasName: 'alias/integration-ca', TargetKeyId: keyId })),
    );
    expect(duplicate).toMatchObject({ name: 'AlreadyExistsException', status: 400 });
    expect(kms.findKey('alias/integration-ca')).toEqual({ keyId, arn });
    await expect(kms.createKey('ECC_NIST_P256', 'alias/integration-ca')).rejects.toThrow(
      /already exists; reuse it with findKey/,
    );
  });

  it.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'sha512'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_512', 'sha512'],
  ] as const)('signs RAW and DIGEST messages with %s / %s', async (spec, algorithm, hash) => {
    const { arn } = await kms.createKey(spec);
    const key = await publicKeyOf(arn);
    const raw = await signature({
      KeyId: arn,
      Message: message,
      MessageType: 'RAW',
      SigningAlgorithm: algorithm,
    });
    const digest = createHash(hash).update(message).digest();
    const fromDigest = await signature({
      KeyId: arn,
      Message: digest,
      MessageType: 'DIGEST',
      SigningAlgorithm: algorithm,
    });
    for (const sig of [raw, fromDigest]) {
      expect(verify(hash, message, key, sig)).toBe(true);
      expect(verify(hash, Buffer.from('something else'), key, sig)).toBe(false);
    }
  });

  it('signs with Ed25519 (ED25519_SHA_512, RAW only)', async () => {
    const { arn } = await kms.createKey('ECC_NIST_EDWARDS25519');
    const key = await publicKeyOf(arn);
    expect(key.asymmetricKeyType).toBe('ed25519');
    const sig = await signature({
      KeyId: arn,
      Message: message,
      MessageType: 'RAW',
      SigningAlgorithm: 'ED25519_SHA_512',
    });
    expect(verify(null, message, key, sig)).toBe(true);
    const digest = await kmsError(
      client.send(
        new SignCommand({
          KeyId: arn,
          Message: createHash('sha512').update(message).digest(),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ED25519_SHA_512',
        }),
      ),
    );
    expect(digest).toMatchObject({ name: 'ValidationException', status: 400 });
  });

  it('answers KMS errors for unknown keys, wrong algorithms and usages, and bad messages', async () => {
    const { arn } = await kms.createKey('ECC_NIST_P256');
    const sign = (input: Partial<SignCommandInput>) =>
      kmsError(
        client.send(
          new SignCommand({ KeyId: arn, Message: message, SigningAlgorithm: 'ECDSA_SHA_256', ...input }),
        ),
      );
    expect(await kmsError(client.send(new GetPublicKeyCommand({ KeyId: 'alias/missing' })))).toMatchObject({
      name: 'NotFoundException',
      status: 400,
    });
    expect(await sign({ KeyId: '00000000-0000-0000-0000-000000000000' })).toMatchObject({
      name: 'NotFoundException',
    });
    expect(await sign({ SigningAlgorithm: 'ECDSA_SHA_384' })).toMatchObject({
      name: 'InvalidKeyUsageException',
    });
    expect(await sign({ Message: Buffer.alloc(4097, 7) })).toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/less than or equal to 4096/) as unknown,
    });
    expect(await sign({ Message: Buffer.alloc(20), MessageType: 'DIGEST' })).toMatchObject({
      name: 'ValidationException',
      message: 'Digest is invalid length for algorithm ECDSA_SHA_256.',
    });

    const encryptionKey = await client.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }),
    );
    expect(
      await sign({ KeyId: encryptionKey.KeyMetadata?.KeyId, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }),
    ).toMatchObject({ name: 'InvalidKeyUsageException' });
    const symmetric = await client.send(new CreateKeyCommand({}));
    expect(
      await kmsError(client.send(new GetPublicKeyCommand({ KeyId: symmetric.KeyMetadata?.KeyId }))),
    ).toMatchObject({
      name: 'UnsupportedOperationException',
    });
    expect(
      await kmsError(
        client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' })),
      ),
    ).toMatchObject({ name: 'ValidationException' });
  });

  it('refuses a disabled key until it is enabled again', async () => {
    const { arn } = await kms.createKey('RSA_2048');
    await client.send(new DisableKeyCommand({ KeyId: arn }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe(
      'Disabled',
    );
    expect(await kmsError(client.send(new GetPublicKeyCommand({ KeyId: arn })))).toMatchObject({
      name: 'DisabledException',
    });
    await client.send(new EnableKeyCommand({ KeyId: arn }));
    await expect(publicKeyOf(arn)).resolves.toBeDefined();
  });

  it('counts requests per operation', async () => {
    const { arn } = await kms.createKey('ECC_NIST_P256');
    const before = { total: kms.requestCount(), publicKey: kms.requestCount('GetPublicKey') };
    await publicKeyOf(arn);
    await publicKeyOf(arn);
    await client.send(new DescribeKeyCommand({ KeyId: arn }));
    expect(kms.requestCount('GetPublicKey')).toBe(before.publicKey + 2);
    expect(kms.requestCount()).toBe(before.total + 3);
  });
});

describe('KMS stand-in authentication (SigV4, service kms)', () => {
  it('rejects a wrong secret key with InvalidSignatureException', async () => {
    const { arn } = await kms.createKey('ECC_NIST_P256');
    const forger = clientFor(kms, { ...kms.credentials, secretAccessKey: 'wrong-secret' });
    expect(await kmsError(forger.send(new GetPublicKeyCommand({ KeyId: arn })))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 400,
    });
    forger.destroy();
  });

  it('rejects an unknown access key with UnrecognizedClientException', async () => {
    const stranger = clientFor(kms, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' });
    expect(await kmsError(stranger.send(new ListAliasesCommand({})))).toMatchObject({
      name: 'UnrecognizedClientException',
      status: 400,
    });
    stranger.destroy();
  });

  it('rejects a request signed for another region', async () => {
    const elsewhere = new KMSClient({
      region: 'eu-west-1',
      endpoint: kms.url,
      credentials: kms.credentials,
      maxAttempts: 1,
    });
    expect(await kmsError(elsewhere.send(new ListAliasesCommand({})))).toMatchObject({
      name: 'InvalidSignatureException',
    });
    elsewhere.destroy();
  });

  it('answers an unsigned request in the KMS JSON error shape', async () => {
    const response = await fetch(kms.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.ListAliases' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
  });
});

describe('KMS stand-in persistence', () => {
  it('keeps keys and aliases across a restart on the same state folder', async () => {
    const stateDir = join(dir, 'restart');
    const first = await startKmsStandin({ stateDir, region: REGION });
    const { arn } = await first.createKey('ECC_NIST_EDWARDS25519', 'alias/lkp-ca');
    const firstClient = clientFor(first);
    const before = (await firstClient.send(new GetPublicKeyCommand({ KeyId: 'alias/lkp-ca' }))).PublicKey;
    const oldSignature = Buffer.from(
      (
        await firstClient.send(
          new SignCommand({ KeyId: arn, Message: message, SigningAlgorithm: 'ED25519_SHA_512' }),
        )
      ).Signature ?? new Uint8Array(),
    );
    firstClient.destroy();
    await first.close();

    const second = await startKmsStandin({ stateDir, region: REGION });
    const secondClient = clientFor(second);
    try {
      expect(second.credentials.accessKeyId).not.toBe(first.credentials.accessKeyId);
      expect(second.findKey('alias/lkp-ca')?.arn).toBe(arn);
      const after = await secondClient.send(new GetPublicKeyCommand({ KeyId: 'alias/lkp-ca' }));
      expect(
        Buffer.from(after.PublicKey ?? new Uint8Array()).equals(Buffer.from(before ?? new Uint8Array())),
      ).toBe(true);
      expect(verify(null, message, await publicKeyOf(arn, secondClient), oldSignature)).toBe(true);
    } finally {
      secondClient.destroy();
      await second.close();
    }
  });
});
