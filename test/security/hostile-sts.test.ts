/**
 * A hostile STS (DESIGN §3.1: "STS answers 200 within a short timeout, with a small body, parsed
 * strictly"): a real `lkp-ca serve` process pointed at a loopback server that answers whatever
 * each case scripts. Every case gets its own key, so the server picks its answer by the proof's
 * X-Lkp-Key-Fingerprint and the cases run side by side.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import { startCaProcess } from '../../src/local/stack.js';
import { STS_ACTION_BODY } from '../../src/protocol.js';
import {
  ed25519PublicKey,
  expectNoSecretsIn,
  expectRefused,
  fingerprint,
  postCa,
  rememberSecret,
} from '../helpers/attack.js';
import { startFakeSts, stsJson, stsXml, type FakeSts, type FakeStsReply } from '../helpers/fake-sts.js';

const ACCOUNT = '111122223333';
const SERVER_ID = 'lkp-hostile';
const REGION = 'us-east-1';
const ALICE = { Arn: `arn:aws:iam::${ACCOUNT}:user/alice`, Account: ACCOUNT, UserId: 'AIDAEXAMPLEALICE0001' };
/** DEFAULT_STS_TIMEOUT_MS in src/identity/index.ts, plus room for a busy machine. */
const STS_DEADLINE_MS = 3000 + 2500;
const INSTANCE_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`;
const CREDENTIALS = {
  accessKeyId: 'AKIAHOSTILETEST00001',
  secretAccessKey: 'hostile-sts-secret-key-never-logged-0001',
  sessionToken: 'hostile-sts-session-token-never-logged-0001',
};

const xml = (body: string): FakeStsReply => ({ headers: { 'Content-Type': 'text/xml' }, body });
const json = (body: string): FakeStsReply => ({ headers: { 'Content-Type': 'application/json' }, body });
const result = (inner: string) =>
  `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>${inner}</GetCallerIdentityResult></GetCallerIdentityResponse>`;
const fields = (c = ALICE) =>
  `<Arn>${c.Arn}</Arn><UserId>${c.UserId}</UserId><Account>${c.Account}</Account>`;

let dir: string;
let sts: FakeSts;
let redirectTarget: FakeSts;
let drip: { origin: string; close(): Promise<void> };
let ca: Awaited<ReturnType<typeof startCaProcess>>;
let dripCa: Awaited<ReturnType<typeof startCaProcess>>;
/** Fingerprint → the answer the hostile STS gives to the proof bound to it. */
const script = new Map<string, FakeStsReply>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-hostile-sts-'));
  const caKey = await generateKeyPair(dir, 'ca', 'ed25519');
  redirectTarget = await startFakeSts(() => xml(stsXml(ALICE)));
  sts = await startFakeSts((req) => {
    const fp = req.rawHeaders.find(([n]) => n.toLowerCase() === 'x-lkp-key-fingerprint')?.[1] ?? '';
    return script.get(fp) ?? { status: 400, body: 'unscripted' };
  });
  drip = await startDripServer();
  const env = (stsOrigin: string) => ({
    LKP_CA_KEY: `file:${caKey.privatePath}`,
    LKP_SERVER_ID: SERVER_ID,
    LKP_ALLOWED_ACCOUNTS: ACCOUNT,
    LKP_ALLOW: `arn:aws:iam::${ACCOUNT}:user/*=*`,
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_STS: stsOrigin,
  });
  [ca, dripCa] = await Promise.all([startCaProcess(env(sts.origin)), startCaProcess(env(drip.origin))]);
});

afterAll(async () => {
  await Promise.all([ca?.stop(), dripCa?.stop()]);
  await Promise.all([sts?.close(), redirectTarget?.close(), drip?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** A well-formed answer's headers, then one byte every 200 ms, forever: only the CA's deadline ends it. */
async function startDripServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': '2000' });
    const timer = setInterval(() => res.write(' '), 200);
    timers.add(timer);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Asks `caUrl` for a user certificate with a fresh key whose proof gets `reply` from the hostile STS. */
async function ask(reply: FakeStsReply, caUrl = ca.url, stsOrigin = sts.origin) {
  const publicKey = ed25519PublicKey();
  script.set(fingerprint(publicKey), reply);
  const Identity = buildIdentityProof({
    stsEndpoint: stsOrigin,
    region: REGION,
    serverId: SERVER_ID,
    keyFingerprint: fingerprint(publicKey),
    credentials: CREDENTIALS,
  });
  return postCa(caUrl, {
    Kind: 'User',
    Identity,
    PublicKey: publicKey,
    RemoteInstanceArn: INSTANCE_ARN,
    SshUsername: 'ec2-user',
  });
}

describe('controls', () => {
  it('issues a certificate for an honest XML answer, and forwards exactly the proof', async () => {
    const answer = await ask(xml(stsXml(ALICE)));
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const forwarded = sts.requests[sts.requests.length - 1];
    expect(forwarded).toMatchObject({ method: 'POST', url: '/', body: STS_ACTION_BODY });
    const allowed = [
      'host',
      'x-amz-date',
      'x-amz-security-token',
      'content-type',
      'content-length',
      'authorization',
      'x-lkp-server-id',
      'x-lkp-key-fingerprint',
      'connection',
    ];
    expect(forwarded?.rawHeaders.map(([n]) => n.toLowerCase()).filter((n) => !allowed.includes(n))).toEqual(
      [],
    );
  });

  it('issues a certificate for an honest JSON answer', async () => {
    const answer = await ask(json(stsJson(ALICE)));
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  });
});

describe('hostile answers', () => {
  const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>${result(`<Arn>&lol3;</Arn><UserId>x</UserId><Account>${ACCOUNT}</Account>`)}`;
  const cases: [string, () => FakeStsReply, number[]][] = [
    [
      'a 302 redirect to another server',
      () => ({ status: 302, headers: { Location: `${redirectTarget.origin}/` } }),
      [401],
    ],
    [
      'a 307 redirect to another server',
      () => ({ status: 307, headers: { Location: `${redirectTarget.origin}/` } }),
      [401],
    ],
    ['a DOCTYPE/ENTITY bomb', () => xml(billionLaughs), [401]],
    [
      'an external entity',
      () =>
        xml(
          `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${result(`<Arn>&e;</Arn><UserId>x</UserId><Account>${ACCOUNT}</Account>`)}`,
        ),
      [401],
    ],
    [
      'an undeclared entity',
      () => xml(result(`<Arn>&e;</Arn><UserId>x</UserId><Account>${ACCOUNT}</Account>`)),
      [401],
    ],
    ['two Arns', () => xml(result(`${fields()}<Arn>arn:aws:iam::${ACCOUNT}:user/admin</Arn>`)), [401]],
    [
      'two results',
      () => xml(result(`${fields()}</GetCallerIdentityResult><GetCallerIdentityResult>${fields()}`)),
      [401],
    ],
    [
      'an Account that does not match the Arn',
      () => xml(stsXml({ ...ALICE, Account: '999988887777' })),
      [401],
    ],
    [
      'an Arn in another account (consistent)',
      () => xml(stsXml({ ...ALICE, Arn: 'arn:aws:iam::999988887777:user/alice', Account: '999988887777' })),
      [403],
    ],
    ['a root Arn', () => xml(stsXml({ ...ALICE, Arn: `arn:aws:iam::${ACCOUNT}:root` })), [403]],
    [
      'a role Arn (not a session)',
      () => xml(stsXml({ ...ALICE, Arn: `arn:aws:iam::${ACCOUNT}:role/admin` })),
      [403],
    ],
    ['a huge body with a Content-Length', () => xml(stsXml(ALICE) + ' '.repeat(1024 * 1024)), [401]],
    ['a huge chunked body', () => ({ ...xml(stsXml(ALICE) + ' '.repeat(256 * 1024)), chunked: true }), [401]],
    ['HTTP 500', () => ({ status: 500, body: 'oops' }), [500]],
    [
      'HTTP 503 with an XML error',
      () => ({
        status: 503,
        ...xml('<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>'),
      }),
      [500],
    ],
    [
      'HTTP 403 SignatureDoesNotMatch',
      () => ({
        status: 403,
        ...xml('<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>'),
      }),
      [401],
    ],
    ['text/html', () => ({ headers: { 'Content-Type': 'text/html' }, body: stsXml(ALICE) }), [401]],
    ['no Content-Type', () => ({ body: stsXml(ALICE) }), [401]],
    [
      'XML with an odd charset',
      () => ({ headers: { 'Content-Type': 'text/xml; charset=utf-7' }, body: stsXml(ALICE) }),
      [401],
    ],
    [
      'JSON with extra keys',
      () =>
        json(
          JSON.stringify({
            GetCallerIdentityResponse: { GetCallerIdentityResult: { ...ALICE, Admin: true } },
          }),
        ),
      [401],
    ],
    [
      'JSON with an extra top-level key',
      () => json(JSON.stringify({ ...JSON.parse(stsJson(ALICE)), Override: ALICE })),
      [401],
    ],
    [
      'JSON with a duplicate Arn',
      () => json(stsJson(ALICE).replace('"Arn":', `"Arn":"arn:aws:iam::${ACCOUNT}:user/admin","Arn":`)),
      [401],
    ],
    [
      'JSON with an array Arn',
      () =>
        json(
          JSON.stringify({
            GetCallerIdentityResponse: { GetCallerIdentityResult: { ...ALICE, Arn: [ALICE.Arn] } },
          }),
        ),
      [401],
    ],
    ['JSON that is not JSON', () => json('{"GetCallerIdentityResponse":'), [401]],
    [
      'CDATA',
      () => xml(result(`<Arn><![CDATA[${ALICE.Arn}]]></Arn><UserId>x</UserId><Account>${ACCOUNT}</Account>`)),
      [401],
    ],
    ['a comment', () => xml(result(`<!-- hi -->${fields()}`)), [401]],
    ['a processing instruction', () => xml(result(`<?evil?>${fields()}`)), [401]],
    [
      'a namespace-prefixed Arn',
      () => xml(result(`<sts:Arn>${ALICE.Arn}</sts:Arn><UserId>x</UserId><Account>${ACCOUNT}</Account>`)),
      [401],
    ],
    [
      'an element inside Arn',
      () => xml(result(`<Arn><b>${ALICE.Arn}</b></Arn><UserId>x</UserId><Account>${ACCOUNT}</Account>`)),
      [401],
    ],
    ['unclosed XML', () => xml(stsXml(ALICE).replace('</GetCallerIdentityResponse>', '')), [401]],
    ['a control character in UserId', () => xml(stsXml({ ...ALICE, UserId: 'AIDA&#10;X' })), [401]],
    ['an empty 200', () => xml(''), [401]],
  ];
  it.concurrent.each(cases)('refuses %s', async (_, reply, statuses) => {
    const answer = await ask(reply());
    expectRefused(answer, statuses);
    expect(answer.ms).toBeLessThan(STS_DEADLINE_MS);
  });

  it('never followed a redirect', () => {
    expect(redirectTarget.requests).toEqual([]);
  });
});

describe('slow STS (DESIGN §3.1: a short timeout, STS timeout → Internal)', () => {
  it.concurrent('gives up on an STS that does not answer, within its deadline', async () => {
    const answer = await ask({ ...xml(stsXml(ALICE)), delayMs: 8000 });
    expectRefused(answer, [500]);
    expect(answer.ms).toBeLessThan(STS_DEADLINE_MS);
  });

  it.concurrent('gives up on an STS that drips its body, within its deadline', async () => {
    const answer = await ask({}, dripCa.url, drip.origin);
    expectRefused(answer, [500]);
    expect(answer.ms).toBeLessThan(STS_DEADLINE_MS);
  });
});

describe('logging (DESIGN §5)', () => {
  it('wrote no Authorization value, signature, session token or secret key', () => {
    rememberSecret(CREDENTIALS.sessionToken);
    expectNoSecretsIn(ca.output() + dripCa.output(), [CREDENTIALS.secretAccessKey]);
  });
});
