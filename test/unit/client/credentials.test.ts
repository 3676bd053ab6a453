import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveCredentials } from '../../../client/lib/credentials.js';

const CHAIN_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
];

let dir: string;
beforeEach(() => {
  // An empty, private AWS configuration: nothing from the machine running the tests leaks in.
  dir = mkdtempSync(join(tmpdir(), 'lkp-credentials-'));
  writeFileSync(join(dir, 'config'), '');
  writeFileSync(join(dir, 'credentials'), '');
  vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'));
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  for (const name of CHAIN_VARIABLES) vi.stubEnv(name, undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe('resolveCredentials', () => {
  it('returns credentials from the environment', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAENVIRONMENT00001');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret');
    await expect(resolveCredentials({})).resolves.toMatchObject({
      accessKeyId: 'AKIAENVIRONMENT00001',
      secretAccessKey: 'env-secret',
    });
  });

  it('returns credentials of the named profile', async () => {
    writeFileSync(
      join(dir, 'credentials'),
      '[work]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = profile-secret\n',
    );
    await expect(resolveCredentials({ profile: 'work' })).resolves.toMatchObject({
      accessKeyId: 'AKIAPROFILE000000001',
      secretAccessKey: 'profile-secret',
    });
  });

  it('names the fix when there are no credentials at all', async () => {
    await expect(resolveCredentials({})).rejects.toThrow(
      'no AWS credentials found: run `aws sso login` or set AWS_PROFILE',
    );
  });

  it('names the profile when it yields no credentials', async () => {
    await expect(resolveCredentials({ profile: 'missing' })).rejects.toThrow(
      "no AWS credentials found for profile 'missing': run `aws sso login --profile missing` or check ~/.aws/config",
    );
  });
});

describe('environment credentials without loading the chain', () => {
  const PROFILE_FILE =
    '[work]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = profile-secret\n';

  it('reads the environment as the SDK chain does, field by field', async () => {
    const { fromEnv } = await import('@aws-sdk/credential-providers');
    const cases: Record<string, string>[] = [
      { AWS_ACCESS_KEY_ID: 'AKIAENVIRONMENT00001', AWS_SECRET_ACCESS_KEY: 's' },
      {
        AWS_ACCESS_KEY_ID: 'ASIAENVIRONMENT00001',
        AWS_SECRET_ACCESS_KEY: 's',
        AWS_SESSION_TOKEN: 'token',
        AWS_CREDENTIAL_EXPIRATION: '2026-12-03T20:00:00Z',
        AWS_CREDENTIAL_SCOPE: 'us-east-1',
        AWS_ACCOUNT_ID: '111122223333',
      },
    ];
    for (const env of cases) {
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
      const sdk = { ...(await fromEnv()()) } as Record<string, unknown>;
      delete sdk.$source; // the SDK's feature marker for its user agent
      expect(await resolveCredentials({})).toEqual(sdk);
      vi.unstubAllEnvs();
    }
  });

  it('leaves the environment keys to the chain when a profile is named, as the chain does', async () => {
    writeFileSync(join(dir, 'credentials'), PROFILE_FILE);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAENVIRONMENT00001');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret');
    await expect(resolveCredentials({ profile: 'work' })).resolves.toMatchObject({
      accessKeyId: 'AKIAPROFILE000000001',
    });
    vi.stubEnv('AWS_PROFILE', 'work');
    await expect(resolveCredentials({})).resolves.toMatchObject({ accessKeyId: 'AKIAPROFILE000000001' });
  });

  it('needs both keys', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAENVIRONMENT00001');
    await expect(resolveCredentials({})).rejects.toThrow('no AWS credentials found');
  });
});
