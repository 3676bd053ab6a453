/**
 * Our stand-ins (src/local/*-standin.ts) serve the SDK's own clients: what the local stack and the
 * tests stand for is what AWS answers the SDK, for the calls whose answers the CA relies on most.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../../src/aws/kms-json.js';
import { lambdaInvoker } from '../../src/aws/lambda-invoke.js';
import { startKmsStandin, type KmsStandin } from '../../src/local/kms-standin.js';
import { startLambdaStandin, type LambdaStandin } from '../../src/local/lambda-standin.js';

const REGION = 'eu-west-1';
let dir: string;
let kms: KmsStandin;
let lambda: LambdaStandin;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-conformance-'));
  kms = await startKmsStandin({ stateDir: dir, region: REGION });
  await kms.createKey('ECC_NIST_P256', 'alias/lkp-ca');
  lambda = await startLambdaStandin({
    region: REGION,
    functions: {
      allow: async () => ({ Authorized: true, Principals: ['ops'] }),
      callbackStyle: (_e: unknown, _c: unknown, callback: (e: unknown, r: unknown) => void) =>
        callback(null, {}),
    },
  });
});

afterAll(async () => {
  await kms.close();
  await lambda.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the KMS stand-in, driven by the SDK', () => {
  it('answers GetPublicKey and Sign as it answers our client', async () => {
    const sdk = new KMSClient({
      region: REGION,
      endpoint: kms.url,
      credentials: kms.credentials,
      maxAttempts: 1,
    });
    const ours = kmsClient({
      region: REGION,
      endpoint: kms.url,
      credentials: kms.credentials,
      maxAttempts: 1,
    });
    const key = await sdk.send(new GetPublicKeyCommand({ KeyId: 'alias/lkp-ca' }));
    const ourKey = await ours.call('GetPublicKey', { KeyId: 'alias/lkp-ca' });
    expect({ ...ourKey, PublicKey: undefined }).toMatchObject({
      KeyId: key.KeyId,
      KeySpec: key.KeySpec,
      KeyUsage: key.KeyUsage,
    });
    expect(ourKey['PublicKey']).toBe(Buffer.from(key.PublicKey ?? []).toString('base64'));
    const signed = await sdk.send(
      new SignCommand({
        KeyId: key.KeyId,
        Message: Buffer.from('m'),
        MessageType: 'RAW',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    expect(signed).toMatchObject({ KeyId: key.KeyId, SigningAlgorithm: 'ECDSA_SHA_256' });
    await expect(sdk.send(new GetPublicKeyCommand({ KeyId: 'alias/none' }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });
});

describe('the Lambda stand-in, driven by the SDK', () => {
  it('invokes a function, and fails a callback handler as nodejs24.x does, as for our client', async () => {
    const sdk = new LambdaClient({
      region: REGION,
      endpoint: lambda.url,
      credentials: lambda.credentials,
      maxAttempts: 1,
    });
    const ours = lambdaInvoker({
      region: REGION,
      endpoint: lambda.url,
      credentials: lambda.credentials,
      maxAttempts: 1,
    });
    for (const name of ['allow', 'callbackStyle']) {
      const a = await sdk.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{}') }));
      const b = await ours.invoke(name, Buffer.from('{}'));
      const payload = JSON.parse(Buffer.from(a.Payload ?? []).toString('utf8')) as Record<string, unknown>;
      expect({ status: a.StatusCode, error: a.FunctionError }).toEqual({
        status: b.statusCode,
        error: b.functionError,
      });
      if (name === 'allow') expect(payload).toEqual({ Authorized: true, Principals: ['ops'] });
      else expect(payload['errorType']).toBe('Runtime.CallbackHandlerDeprecated');
    }
    await expect(sdk.send(new InvokeCommand({ FunctionName: 'missing' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    ours.destroy();
  });
});
