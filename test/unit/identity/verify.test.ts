/** verifyIdentity end to end through the real HTTP transport against a loopback STS stand-in. */
import { afterEach, describe, expect, it } from 'vitest';
import { verifyIdentity, type IdentityConfig } from '../../../src/identity/index.js';
import { startFakeSts, stsXml, type FakeSts } from '../../helpers/fake-sts.js';
import { CONFIG, FINGERPRINT, NOW, signedProof } from './fixtures.js';

describe('verifyIdentity over HTTP', () => {
  let sts: FakeSts | undefined;
  afterEach(async () => {
    await sts?.close();
    sts = undefined;
  });

  async function setup(arn: string, account: string) {
    sts = await startFakeSts(() => ({
      headers: { 'Content-Type': 'text/xml' },
      body: stsXml({ Arn: arn, Account: account, UserId: 'AIDAEXAMPLE' }),
    }));
    const cfg: IdentityConfig = { ...CONFIG, stsEndpoint: sts.origin, allowedAccounts: ['123456789012'] };
    return { cfg, proof: signedProof({ origin: sts.origin }) };
  }

  it('returns the verified identity of an IAM user', async () => {
    const { cfg, proof } = await setup('arn:aws:iam::123456789012:user/ops/alice', '123456789012');
    await expect(verifyIdentity(proof, FINGERPRINT, cfg, NOW)).resolves.toEqual({
      Arn: 'arn:aws:iam::123456789012:user/ops/alice',
      Account: '123456789012',
      Id: 'AIDAEXAMPLE',
      Type: 'User',
      Name: 'alice',
    });
    expect(sts?.requests).toHaveLength(1);
  });

  it('forbids an account that is not allowed, after asking STS', async () => {
    const { cfg, proof } = await setup('arn:aws:iam::999999999999:user/alice', '999999999999');
    await expect(verifyIdentity(proof, FINGERPRINT, cfg, NOW)).rejects.toMatchObject({
      code: 'Forbidden',
      message: 'your credentials are for account 999999999999; this CA accepts 123456789012',
    });
  });

  it('forbids root', async () => {
    const { cfg, proof } = await setup('arn:aws:iam::123456789012:root', '123456789012');
    await expect(verifyIdentity(proof, FINGERPRINT, cfg, NOW)).rejects.toMatchObject({ code: 'Forbidden' });
  });

  it('sends nothing for a proof made for another key', async () => {
    const { cfg, proof } = await setup('arn:aws:iam::123456789012:user/alice', '123456789012');
    await expect(verifyIdentity(proof, 'SHA256:other', cfg, NOW)).rejects.toMatchObject({
      code: 'Unauthenticated',
    });
    expect(sts?.requests).toHaveLength(0);
  });
});
