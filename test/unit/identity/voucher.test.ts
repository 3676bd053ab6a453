/**
 * Vouchers (DESIGN §3.2 Vouchers): strict token decoding, the §3.1 guards with the voucher's own
 * binding headers and age limit, and verification through the STS stand-in (real SigV4).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildIdentityProof } from '../../../client/lib/proof.js';
import { buildVoucher } from '../../../client/lib/voucher.js';
import { LkpError } from '../../../src/errors.js';
import { verifyIdentity, type StsTransport } from '../../../src/identity/index.js';
import { decodeVoucher, verifyVouchers, type VoucherConfig } from '../../../src/identity/voucher.js';
import { startStsStandin, type LocalPrincipal, type StsStandin } from '../../../src/local/sts-standin.js';
import type { IdentityProof, LkpIdentity } from '../../../src/protocol.js';
import { parseRequest } from '../../../src/request.js';
import {
  CONFIG,
  FINGERPRINT,
  NOW,
  SESSION_TOKEN,
  authorizationOf,
  signedProof,
  withHeaders,
} from './fixtures.js';

const INSTANCE = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';
const VOUCHER_CONFIG: VoucherConfig = { ...CONFIG, voucherMaxAgeSeconds: 900 };
const CALLER: LkpIdentity = {
  Arn: 'arn:aws:iam::123456789012:user/alice',
  Account: '123456789012',
  Id: 'AIDAALICE',
  Type: 'User',
  Name: 'alice',
};

const tokenOf = (value: unknown) => `lkpv1.${Buffer.from(JSON.stringify(value)).toString('base64url')}`;

/** A voucher proof as lkp vouch signs it, for the fixtures' endpoint and server id. */
function voucherProof(
  o: { vouchee?: string; context?: string; date?: Date; omit?: string[] } = {},
): IdentityProof {
  return signedProof({
    omit: ['X-Lkp-Key-Fingerprint', ...(o.omit ?? [])],
    ...(o.date ? { date: o.date } : {}),
    signedExtra: { 'X-Lkp-Vouchee': o.vouchee ?? 'alice', 'X-Lkp-Voucher-Context': o.context ?? INSTANCE },
  });
}

/** Fails the test if anything reaches STS: every guard here must refuse before forwarding. */
const noSts: StsTransport = () => {
  throw new Error('STS must not be called');
};

async function rejection(tokens: string[], transport: StsTransport = noSts): Promise<LkpError> {
  const e: unknown = await verifyVouchers(tokens, CALLER, VOUCHER_CONFIG, NOW, transport).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof LkpError)) throw new Error(`expected an LkpError, got ${String(e)}`);
  expect(e.message).not.toContain(SESSION_TOKEN);
  expect(e.message).not.toMatch(/Signature=|[0-9a-f]{64}/);
  return e;
}

describe('decodeVoucher', () => {
  it('returns the proof inside a token', () => {
    const proof = voucherProof();
    expect(decodeVoucher(tokenOf(proof))).toEqual(proof);
  });

  it.each([
    ['no prefix', Buffer.from(JSON.stringify(voucherProof())).toString('base64url'), /starts with lkpv1\./],
    ['another version', `lkpv2.${tokenOf(voucherProof()).slice(6)}`, /starts with lkpv1\./],
    ['nothing after the prefix', 'lkpv1.', /not base64url/],
    ['standard base64 characters', `${tokenOf(voucherProof())}+/`, /not base64url/],
    ['padding', `lkpv1.${Buffer.from('{}').toString('base64')}`, /not base64url/],
    ['spaces', `lkpv1.e30 `, /not base64url/],
    ['non-canonical trailing bits', 'lkpv1.e31', /not base64url/],
    ['text that is not JSON', `lkpv1.${Buffer.from('not json').toString('base64url')}`, /does not hold JSON/],
    ['invalid UTF-8', `lkpv1.${Buffer.from([0x22, 0xff, 0x22]).toString('base64url')}`, /does not hold JSON/],
    ['a JSON array', tokenOf([voucherProof()]), /voucher must be a JSON object/],
    ['an unknown field', tokenOf({ ...voucherProof(), Extra: 1 }), /unknown field\(s\) Extra/],
    ['a missing field', tokenOf({ ...voucherProof(), Body: undefined }), /voucher\.Body must be a string/],
    ['a non-string header', tokenOf(withHeaders(voucherProof(), { Host: true as never })), /Headers\.Host/],
    ['over 8 KiB', `lkpv1.${'A'.repeat(8 * 1024)}`, /larger than 8192 bytes/],
  ])('refuses %s as BadRequest', (_what, token, message) => {
    expect(() => decodeVoucher(token)).toThrow(message);
    try {
      decodeVoucher(token);
    } catch (e) {
      expect(e).toMatchObject({ code: 'BadRequest' });
    }
  });
});

describe('verifyVouchers: the voucher rules, before anything reaches STS', () => {
  it('names the voucher that is malformed and calls STS for none of them', async () => {
    const transport = vi.fn(noSts);
    const e = await rejection([tokenOf(voucherProof()), 'lkpv1.e31'], transport);
    expect(e).toMatchObject({ code: 'BadRequest', message: expect.stringMatching(/^Vouchers\[1\]: /) });
    expect(transport).not.toHaveBeenCalled();
  });

  it.each([
    ['X-Lkp-Vouchee', /^Vouchers\[0\]: voucher is missing header\(s\) X-Lkp-Vouchee$/],
    ['X-Lkp-Voucher-Context', /^Vouchers\[0\]: voucher is missing header\(s\) X-Lkp-Voucher-Context$/],
  ])('refuses a voucher without %s', async (header, message) => {
    const e = await rejection([tokenOf(withHeaders(voucherProof(), { [header]: undefined }))]);
    expect(e).toMatchObject({ code: 'Unauthenticated', message: expect.stringMatching(message) });
  });

  it.each(['X-Lkp-Vouchee', 'X-Lkp-Voucher-Context'])('refuses %s added after signing', async (header) => {
    const unsigned = withHeaders(voucherProof({ omit: [header] }), { [header]: 'bob' });
    const e = await rejection([tokenOf(unsigned)]);
    expect(e.code).toBe('Unauthenticated');
    expect(e.message).toMatch(new RegExp(`SignedHeaders must include ${header.toLowerCase()}`));
  });

  it("refuses a caller's proof (bound to a key) used as a voucher", async () => {
    const e = await rejection([tokenOf(signedProof())]);
    expect(e).toMatchObject({
      code: 'Unauthenticated',
      message: 'Vouchers[0]: header X-Lkp-Key-Fingerprint is not allowed in a voucher',
    });
  });

  it("refuses a voucher used as a caller's proof: it is bound to no key", async () => {
    await expect(verifyIdentity(voucherProof(), FINGERPRINT, CONFIG, NOW, noSts)).rejects.toMatchObject({
      code: 'Unauthenticated',
      message: 'header X-Lkp-Vouchee is not allowed in an identity proof',
    });
  });

  it('accepts a voucher up to LKP_VOUCHER_MAX_AGE old and refuses an older one', async () => {
    const transport = vi.fn<StsTransport>(async () => ({
      status: 200,
      contentType: 'text/xml',
      body: '<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bob</Arn><UserId>AIDABOB</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>',
    }));
    const at = (ageSeconds: number) =>
      tokenOf(voucherProof({ date: new Date(NOW.getTime() - ageSeconds * 1000) }));
    await expect(verifyVouchers([at(900)], CALLER, VOUCHER_CONFIG, NOW, transport)).resolves.toHaveLength(1);
    const e = await rejection([at(901)]);
    expect(e).toMatchObject({
      code: 'Unauthenticated',
      message: 'Vouchers[0]: voucher was signed 901 s ago (allowed 900 s); ask for a fresh one',
    });
  });

  it('allows a voucher no further in the future than the clock skew', async () => {
    const ahead = tokenOf(voucherProof({ date: new Date(NOW.getTime() + 301_000) }));
    expect((await rejection([ahead])).message).toMatch(/301 s away from the CA clock \(allowed 300 s\)/);
  });

  it('refuses a voucher made for another CA', async () => {
    const other = signedProof({
      omit: ['X-Lkp-Key-Fingerprint'],
      signedExtra: {
        'X-Lkp-Server-Id': 'another-ca',
        'X-Lkp-Vouchee': 'alice',
        'X-Lkp-Voucher-Context': INSTANCE,
      },
    });
    expect((await rejection([tokenOf(other)])).message).toMatch(
      /^Vouchers\[0\]: X-Lkp-Server-Id does not match/,
    );
  });

  const badText =
    /^Vouchers\[0\]: voucher header X-Lkp-Vouch(ee|er-Context) must be 1 to (128|256) printable ASCII/;
  it.each([
    ['an empty vouchee', { vouchee: ' ' }, badText],
    ['a vouchee over 128 characters', { vouchee: 'a'.repeat(129) }, badText],
    ['double spaces SigV4 would collapse', { context: 'ticket  42' }, badText],
    ['a context over 256 characters', { context: 'c'.repeat(257) }, badText],
    [
      'non-ASCII text',
      { vouchee: 'alicé' },
      /header X-Lkp-Vouchee contains CR, LF, NUL or another character/,
    ],
  ])('refuses %s', async (_what, o, message) => {
    const e = await rejection([tokenOf(voucherProof(o))]);
    expect(e).toMatchObject({ code: 'Unauthenticated', message: expect.stringMatching(message) });
  });

  it('refuses more than 8 tokens', async () => {
    const e = await rejection(Array.from({ length: 9 }, () => tokenOf(voucherProof())));
    expect(e).toMatchObject({ code: 'BadRequest', message: 'Vouchers may have at most 8 entries' });
  });
});

describe('verifyVouchers through the STS stand-in', () => {
  let sts: StsStandin;
  let alice: LocalPrincipal;
  let bob: LocalPrincipal;
  let carol: LocalPrincipal;
  let mallory: LocalPrincipal;
  let cfg: VoucherConfig;

  beforeAll(async () => {
    sts = await startStsStandin({
      region: 'us-east-1',
      principals: [
        { arn: 'arn:aws:iam::123456789012:user/alice' },
        { arn: 'arn:aws:iam::123456789012:user/bob' },
        { arn: 'arn:aws:sts::123456789012:assumed-role/oncall/carol' },
        { arn: 'arn:aws:iam::999999999999:user/mallory' },
      ],
    });
    [alice, bob, carol, mallory] = sts.principals as [
      LocalPrincipal,
      LocalPrincipal,
      LocalPrincipal,
      LocalPrincipal,
    ];
    cfg = { ...VOUCHER_CONFIG, stsEndpoint: sts.url };
  });
  afterAll(() => sts.close());

  const caller = (): LkpIdentity => ({ ...CALLER, Id: alice.userId });
  const vouch = (by: LocalPrincipal, vouchee = 'alice', context = INSTANCE, serverId = CONFIG.serverId) =>
    buildVoucher({
      stsEndpoint: sts.url,
      region: 'us-east-1',
      serverId,
      vouchee,
      context,
      credentials: by.credentials,
    });

  it('returns each voucher as its verified identity plus what it signed', async () => {
    const vouchers = await verifyVouchers(
      [vouch(bob), vouch(carol, CALLER.Arn, 'ticket 42')],
      caller(),
      cfg,
      new Date(),
    );
    expect(vouchers).toEqual([
      {
        Arn: bob.arn,
        Account: '123456789012',
        Id: bob.userId,
        Type: 'User',
        Name: 'bob',
        Vouchee: 'alice',
        Context: INSTANCE,
      },
      {
        Arn: carol.arn,
        Account: '123456789012',
        Id: carol.userId,
        Type: 'AssumedRole',
        RoleName: 'oncall',
        SessionName: 'carol',
        Vouchee: CALLER.Arn,
        Context: 'ticket 42',
      },
    ]);
  });

  it('drops a voucher by the caller themselves, by ARN or by unique id', async () => {
    const before = sts.requestCount();
    const vouchers = await verifyVouchers([vouch(alice), vouch(bob)], caller(), cfg, new Date());
    expect(vouchers.map((v) => v.Arn)).toEqual([bob.arn]);
    expect(sts.requestCount() - before).toBe(2);
    const sameId = { ...caller(), Arn: 'arn:aws:iam::123456789012:user/renamed' };
    expect(await verifyVouchers([vouch(alice)], sameId, cfg, new Date())).toEqual([]);
    // The same ARN with another unique id (a user deleted and created again) is still the caller.
    const sameArn = { ...caller(), Id: 'AIDAOTHERUNIQUEID0001' };
    expect(await verifyVouchers([vouch(alice)], sameArn, cfg, new Date())).toEqual([]);
  });

  it('keeps only the first voucher of one identity', async () => {
    const vouchers = await verifyVouchers(
      [vouch(bob, 'alice', 'first'), vouch(carol), vouch(bob, 'alice', 'second')],
      caller(),
      cfg,
      new Date(),
    );
    expect(vouchers.map((v) => [v.Arn, v.Context])).toEqual([
      [bob.arn, 'first'],
      [carol.arn, INSTANCE],
    ]);
  });

  it('fails the whole request on a voucher from an account that is not allowed, naming it', async () => {
    await expect(
      verifyVouchers([vouch(bob), vouch(mallory)], caller(), cfg, new Date()),
    ).rejects.toMatchObject({
      code: 'Forbidden',
      message: 'Vouchers[1]: your credentials are for account 999999999999; this CA accepts 123456789012',
    });
  });

  it('fails on a voucher whose signature STS rejects', async () => {
    const proof = decodeVoucher(vouch(bob));
    const forged = withHeaders(proof, { 'X-Lkp-Vouchee': 'mallory' });
    const e: unknown = await verifyVouchers([tokenOf(forged)], caller(), cfg, new Date()).catch(
      (x: unknown) => x,
    );
    expect(e).toMatchObject({
      code: 'Unauthenticated',
      message: expect.stringMatching(/^Vouchers\[0\]: AWS rejected/),
    });
    expect(String((e as Error).message)).not.toContain(authorizationOf(forged));
  });

  it('refuses a voucher built for another server id without calling STS', async () => {
    const before = sts.requestCount();
    await expect(
      verifyVouchers([vouch(bob, 'alice', INSTANCE, 'another-ca')], caller(), cfg, new Date()),
    ).rejects.toMatchObject({ code: 'Unauthenticated' });
    expect(sts.requestCount()).toBe(before);
  });

  it("refuses the caller's own key-bound proof from lkp as a voucher", async () => {
    const proof = buildIdentityProof({
      stsEndpoint: sts.url,
      region: 'us-east-1',
      serverId: CONFIG.serverId,
      keyFingerprint: FINGERPRINT,
      credentials: bob.credentials,
    });
    await expect(verifyVouchers([tokenOf(proof)], caller(), cfg, new Date())).rejects.toMatchObject({
      code: 'Unauthenticated',
      message: expect.stringMatching(/X-Lkp-Key-Fingerprint is not allowed in a voucher/),
    });
  });
});

describe('buildVoucher', () => {
  const credentials = { accessKeyId: 'AKIAEXAMPLEUSER00001', secretAccessKey: 'secret' };
  const base = { stsEndpoint: CONFIG.stsEndpoint, region: 'us-east-1', serverId: 'lkp-test-ca', credentials };

  it('signs the vouchee and context and no key fingerprint', () => {
    const proof = decodeVoucher(buildVoucher({ ...base, vouchee: 'alice', context: INSTANCE, now: NOW }));
    expect(proof.Headers).toMatchObject({ 'X-Lkp-Vouchee': 'alice', 'X-Lkp-Voucher-Context': INSTANCE });
    expect(proof.Headers).not.toHaveProperty('X-Lkp-Key-Fingerprint');
    expect(authorizationOf(proof)).toMatch(
      /SignedHeaders=content-length;content-type;host;x-amz-date;x-lkp-server-id;x-lkp-vouchee;x-lkp-voucher-context,/,
    );
  });

  it('refuses text the CA would refuse, before signing', () => {
    expect(() => buildVoucher({ ...base, vouchee: 'alice\nbob', context: INSTANCE })).toThrow(
      /invalid vouchee/,
    );
    expect(() => buildVoucher({ ...base, vouchee: 'alice', context: 'x'.repeat(257) })).toThrow(
      /invalid context/,
    );
  });
});

describe('parseRequest: Vouchers', () => {
  const user = {
    Kind: 'User',
    Identity: signedProof(),
    PublicKey: 'ssh-ed25519 AAAA',
    RemoteInstanceArn: INSTANCE,
    SshUsername: 'ec2-user',
  };

  it('passes up to 8 tokens through for verification and omits an empty list', () => {
    const tokens = Array.from({ length: 8 }, (_, i) => `lkpv1.${i}`);
    expect(parseRequest({ ...user, Vouchers: tokens })).toMatchObject({ Vouchers: tokens });
    expect(parseRequest({ ...user, Vouchers: [] })).not.toHaveProperty('Vouchers');
  });

  it.each([
    ['9 tokens', Array.from({ length: 9 }, () => 'lkpv1.x'), /at most 8 entries/],
    ['a non-string', [42], /Vouchers\[0\] must be a string/],
    ['a token over 8 KiB', [`lkpv1.${'A'.repeat(8 * 1024)}`], /Vouchers\[0\] is longer than 8192/],
    ['a non-array', 'lkpv1.x', /Vouchers must be an array/],
  ])('refuses %s', (_what, Vouchers, message) => {
    expect(() => parseRequest({ ...user, Vouchers })).toThrow(message);
  });
});
