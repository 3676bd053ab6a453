import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllowRules } from '../../src/authorize/allow.js';
import { builtinPolicy } from '../../src/authorize/builtin.js';
import type { Policy } from '../../src/authorize/policy.js';
import { createCa, type CaDeps, type IdentityVerifier } from '../../src/ca.js';
import { parseCertificate } from '../../src/cert/index.js';
import { loadConfig } from '../../src/config.js';
import { forbidden, internal, policyError, unauthenticated } from '../../src/errors.js';
import type { CertResponse, ErrorResponse, InfoResponse, LkpIdentity } from '../../src/protocol.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import { fileSigner } from '../../src/signer/file.js';
import type { Signer } from '../../src/signer/signer.js';
import { ALICE, INSTANCE_ARN, INSTANCE_SESSION } from '../helpers/identities.js';

const ARN = INSTANCE_ARN;
const alice = ALICE;
const instance = INSTANCE_SESSION;
const SECRET =
  'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=deadbeef';
const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLETOKEN';
const identity = {
  Method: 'POST',
  Url: 'https://sts/',
  Body: '',
  Headers: { Authorization: SECRET, 'X-Amz-Security-Token': TOKEN },
};
const config = loadConfig({
  LKP_CA_KEY: 'file:/x',
  LKP_SERVER_ID: 'lkp-test',
  LKP_ALLOWED_ACCOUNTS: '111122223333',
  AWS_REGION: 'us-east-1',
});

let dir: string;
let signer: Signer;
let subjectKey: string;

/** Every IAM user, any login but root: these tests are about the pipeline, not LKP_ALLOW. */
const ALLOW_ALL = parseAllowRules('arn:aws:iam::*:user/*=*', []);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-ca-test-'));
  signer = await fileSigner((await generateKeyPair(dir, 'ca')).privatePath);
  subjectKey = (await generateKeyPair(dir, 'user')).publicKey;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(overrides: Partial<CaDeps> & { who?: LkpIdentity } = {}) {
  const lines: string[] = [];
  const verifyIdentity = vi.fn<IdentityVerifier>(async () => overrides.who ?? alice);
  const sign = vi.spyOn(signer, 'sign');
  sign.mockClear();
  const ca = createCa({
    config,
    signer,
    policy: builtinPolicy({ allowedAccounts: config.allowedAccounts, allow: ALLOW_ALL }),
    verifyIdentity,
    audit: (line) => lines.push(line),
    now: () => new Date('2026-11-23T10:00:00Z'),
    ...overrides,
  });
  const audit = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { ca, lines, audit, verifyIdentity, sign };
}

const userRequest = (extra: Record<string, unknown> = {}) => ({
  Kind: 'User',
  Identity: identity,
  PublicKey: subjectKey,
  RemoteInstanceArn: ARN,
  SshUsername: 'ec2-user',
  ...extra,
});
const hostRequest = {
  Kind: 'Host',
  Identity: identity,
  PublicKey: '',
  HostInstanceArn: ARN,
  Principals: ['10.0.0.5'],
};

describe('createCa: the pipeline', () => {
  it('signs a user certificate and audits the decision in one line', async () => {
    const { ca, audit, verifyIdentity } = setup();
    const { status, response } = await ca(
      { payload: userRequest() },
      { transport: 'test', sourceIp: '192.0.2.1' },
    );
    expect(status).toBe(200);
    const cert = response as CertResponse;
    expect(cert).toMatchObject({
      Kind: 'User',
      KeyId: alice.Arn,
      Principals: [`ec2-user@${ARN}`],
      ValidAfter: 1795428000 - 60,
      ValidBefore: 1795428000 + 3600,
      CaPublicKeys: [signer.publicKey],
    });
    const parsed = parseCertificate(cert.Certificate);
    expect(parsed.serial.toString()).toBe(cert.Serial);
    expect(parsed.kind).toBe('user');
    expect(verifyIdentity).toHaveBeenCalledWith(
      identity,
      expect.stringMatching(/^SHA256:/),
      expect.any(Date),
    );
    expect(audit()).toEqual([
      expect.objectContaining({
        decision: 'allow',
        kind: 'User',
        caller: alice.Arn,
        sourceIp: '192.0.2.1',
        target: ARN,
        principals: [`ec2-user@${ARN}`],
        serial: cert.Serial,
        policy: 'built-in',
        keyFingerprint: expect.stringMatching(/^SHA256:/),
      }),
    ]);
  });

  it('accepts a JSON body as the HTTP transports pass it', async () => {
    const { ca } = setup();
    const { status } = await ca({ body: JSON.stringify(userRequest()) }, { transport: 'http' });
    expect(status).toBe(200);
  });

  it('answers Info without any identity', async () => {
    const { ca, verifyIdentity, audit } = setup();
    const { status, response } = await ca({ payload: { Kind: 'Info' } }, { transport: 'test' });
    expect(status).toBe(200);
    expect(response as InfoResponse).toEqual({
      CaPublicKeys: [signer.publicKey],
      ServerId: 'lkp-test',
      StsEndpoint: 'https://sts.us-east-1.amazonaws.com',
      StsRegion: 'us-east-1',
    });
    expect(verifyIdentity).not.toHaveBeenCalled();
    expect(audit()).toHaveLength(1);
  });

  it('tells clients to sign for us-east-1 at the global STS endpoint, whatever AWS_REGION is', async () => {
    const global = loadConfig({
      LKP_CA_KEY: 'file:/x',
      LKP_SERVER_ID: 'lkp-test',
      LKP_ALLOWED_ACCOUNTS: '111122223333',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_STS: 'https://sts.amazonaws.com',
    });
    const { ca } = setup({ config: global });
    const { response } = await ca({ payload: { Kind: 'Info' } }, { transport: 'test' });
    expect(response).toMatchObject({ StsEndpoint: 'https://sts.amazonaws.com', StsRegion: 'us-east-1' });
  });

  it('signs a host certificate for the instance’s own role session', async () => {
    const { ca } = setup({ who: instance });
    const { status, response } = await ca(
      { payload: { ...hostRequest, PublicKey: subjectKey } },
      { transport: 'test' },
    );
    expect(status).toBe(200);
    expect(response).toMatchObject({
      Kind: 'Host',
      KeyId: ARN,
      Principals: [ARN],
      ValidBefore: 1795428000 + 2592000,
    });
    expect(parseCertificate((response as CertResponse).Certificate).kind).toBe('host');
  });

  it('refuses a host certificate to any other caller, whatever the policy says', async () => {
    const yes: Policy = {
      name: 'always-yes',
      authorizeUser: async () => ({ principals: ['x'], criticalOptions: {}, extensions: [] }),
      authorizeHost: async () => ({ principals: [ARN], criticalOptions: {}, extensions: [] }),
      authorizeAccounts: async () => ({ users: [], sudo: [] }),
    };
    const { ca, sign } = setup({ policy: yes });
    const { status, response } = await ca(
      { payload: { ...hostRequest, PublicKey: subjectKey } },
      { transport: 'test' },
    );
    expect(status).toBe(403);
    expect((response as ErrorResponse).Error.Code).toBe('Forbidden');
    expect(sign).not.toHaveBeenCalled();
  });

  it.each([
    ['a malformed request', () => setup(), () => ({ Kind: 'User' }), 400, 'BadRequest'],
    ['a bad public key', () => setup(), () => userRequest({ PublicKey: 'ssh-dss AAAA' }), 400, 'BadRequest'],
    [
      'a failed identity proof',
      () =>
        setup({
          verifyIdentity: async () => {
            throw unauthenticated('X-Amz-Date is 900 s away from the CA clock');
          },
        }),
      () => userRequest(),
      401,
      'Unauthenticated',
    ],
    [
      'a policy denial',
      () =>
        setup({
          policy: {
            ...builtinPolicy({ allowedAccounts: [], allow: [] }),
            authorizeUser: async () => Promise.reject(forbidden('not today')),
          },
        }),
      () => userRequest(),
      403,
      'Forbidden',
    ],
    [
      'a broken policy',
      () =>
        setup({
          policy: {
            ...builtinPolicy({ allowedAccounts: [], allow: [] }),
            authorizeUser: async () => Promise.reject(policyError('bad answer')),
          },
        }),
      () => userRequest(),
      502,
      'PolicyError',
    ],
    [
      'a policy that grants no principals',
      () =>
        setup({
          policy: {
            ...builtinPolicy({ allowedAccounts: [], allow: [] }),
            authorizeUser: async () => ({ principals: [], criticalOptions: {}, extensions: [] }),
          },
        }),
      () => userRequest(),
      502,
      'PolicyError',
    ],
  ])('denies %s, signs nothing and audits the reason', async (_, make, payload, status, code) => {
    const { ca, sign, audit } = make();
    const result = await ca({ payload: payload() }, { transport: 'test' });
    expect(result.status).toBe(status);
    expect((result.response as ErrorResponse).Error.Code).toBe(code);
    expect(sign).not.toHaveBeenCalled();
    expect(audit()).toEqual([
      expect.objectContaining({ decision: 'deny', code, reason: expect.any(String) }),
    ]);
  });

  it('turns an unexpected failure into a generic Internal error that leaks nothing', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { ca } = setup({
      verifyIdentity: async () => {
        throw new TypeError(`boom ${SECRET}`);
      },
    });
    const { status, response } = await ca({ payload: userRequest() }, { transport: 'test' });
    stderr.mockRestore();
    expect(status).toBe(500);
    expect((response as ErrorResponse).Error).toEqual({
      Code: 'Internal',
      Message: 'internal error; see the CA logs',
    });
  });

  it('never writes the Authorization header or session token to the audit line', async () => {
    const { ca, lines } = setup({
      verifyIdentity: async () => {
        throw unauthenticated('AWS rejected the identity proof');
      },
    });
    await ca({ payload: userRequest() }, { transport: 'test' });
    await ca({ payload: userRequest({ Extra: SECRET }) }, { transport: 'test' });
    const { ca: ok, lines: okLines } = setup();
    await ok({ payload: userRequest() }, { transport: 'test' });
    for (const line of [...lines, ...okLines]) {
      expect(line).not.toContain('Signature=');
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain('PRIVATE KEY');
    }
    expect(lines).toHaveLength(2);
  });

  it('hands out no certificate when the signer refuses its own signature, and audits the denial', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // What the file and KMS signers throw for a faulty signature or one by another key.
    const refusing: Signer = {
      ...signer,
      sign: async () => {
        throw internal('the CA key file signer produced a faulty signature');
      },
    };
    const { ca, audit } = setup({ signer: refusing });
    const { status, response } = await ca({ payload: userRequest() }, { transport: 'test' });
    stderr.mockRestore();
    expect(status).toBe(500);
    expect(response).toEqual({
      Error: { Code: 'Internal', Message: 'the CA key file signer produced a faulty signature' },
    });
    expect(audit()).toEqual([expect.objectContaining({ decision: 'deny', code: 'Internal' })]);
  });
});

describe('createCa: jumpboxes, target address and EC2 lookups', () => {
  const routed: Policy = {
    name: 'routed',
    authorizeUser: async (req) => ({
      principals: [`${req.SshUsername}@${req.RemoteInstanceArn}`],
      criticalOptions: { 'force-command': 'uptime' },
      extensions: ['permit-pty', 'permit-agent-forwarding'],
      targetAddress: '10.0.0.5',
      jumpboxes: [
        {
          address: 'bastion.example.com',
          user: 'jump',
          hostKeyAlias: 'bastion',
          principals: ['jump@bastion'],
        },
      ],
    }),
    authorizeHost: async (req) => ({
      principals: [req.HostInstanceArn],
      criticalOptions: {},
      extensions: [],
    }),
    authorizeAccounts: async () => ({ users: [], sudo: [] }),
  };

  it('signs a port-forwarding-only certificate per jumpbox and passes the target address on', async () => {
    const { ca, audit } = setup({ policy: routed });
    const { status, response } = await ca({ payload: userRequest() }, { transport: 'test' });
    expect(status).toBe(200);
    const cert = response as CertResponse;
    expect(cert.TargetAddress).toBe('10.0.0.5');
    expect(cert.Jumpboxes).toEqual([
      {
        Address: 'bastion.example.com',
        User: 'jump',
        HostKeyAlias: 'bastion',
        Certificate: expect.any(String),
      },
    ]);
    const jump = parseCertificate(cert.Jumpboxes?.[0]?.Certificate ?? '');
    // The bastion's principals command restricts forwarding to the routed target (DESIGN §3.4).
    expect(jump.principals).toEqual(['jump@bastion', 'lkp-jumpbox', 'lkp-permitopen=10.0.0.5:22']);
    expect(jump.extensions).toEqual(['permit-port-forwarding']);
    // Extensions alone would still let it run a command on the bastion (test/e2e/jumpbox.test.ts).
    expect(jump.criticalOptions).toEqual({
      'force-command': 'echo lkp: this certificate only forwards connections through this jumpbox; exit 1',
    });
    expect(jump.validBefore).toBe(cert.ValidBefore);
    expect(jump.serial.toString()).not.toBe(cert.Serial);
    expect(parseCertificate(cert.Certificate).criticalOptions).toEqual({ 'force-command': 'uptime' });
    expect(audit()[0]).toMatchObject({
      jumpboxes: [
        {
          address: 'bastion.example.com',
          principals: ['jump@bastion', 'lkp-jumpbox', 'lkp-permitopen=10.0.0.5:22'],
        },
      ],
    });
  });

  it('routes each jumpbox of a chain to the next hop, and one without a known target nowhere', async () => {
    const chain = (targetAddress: string | undefined): Policy => ({
      ...routed,
      authorizeUser: async (req) => ({
        principals: [`${req.SshUsername}@${req.RemoteInstanceArn}`],
        criticalOptions: {},
        extensions: [],
        ...(targetAddress === undefined ? {} : { targetAddress }),
        jumpboxes: [
          {
            address: 'outer.example.com:2222',
            user: 'jump',
            hostKeyAlias: 'outer',
            principals: ['jump@outer'],
          },
          { address: 'fd00::5', user: 'jump', hostKeyAlias: 'inner', principals: ['jump@inner'] },
        ],
      }),
    });
    const principalsOf = async (policy: Policy) => {
      const { ca } = setup({ policy });
      const { response } = await ca({ payload: userRequest() }, { transport: 'test' });
      return ((response as CertResponse).Jumpboxes ?? []).map(
        (j) => parseCertificate(j.Certificate).principals,
      );
    };
    expect(await principalsOf(chain('db.internal'))).toEqual([
      ['jump@outer', 'lkp-jumpbox', 'lkp-permitopen=[fd00::5]:22'],
      ['jump@inner', 'lkp-jumpbox', 'lkp-permitopen=db.internal:22'],
    ]);
    expect((await principalsOf(chain(undefined)))[1]).toEqual(['jump@inner', 'lkp-jumpbox']);
    // A bare IPv6 address ends in ':<hex>', which is not a port.
    expect((await principalsOf(chain('2001:db8::5')))[1]).toEqual([
      'jump@inner',
      'lkp-jumpbox',
      'lkp-permitopen=[2001:db8::5]:22',
    ]);
  });

  it('passes the Instance Connect Endpoint the policy names on to the client', async () => {
    const endpoint = { id: 'eice-0123456789abcdef0' };
    const viaEice: Policy = {
      ...routed,
      authorizeUser: async (req) => ({
        ...(await routed.authorizeUser(req)),
        instanceConnectEndpoint: endpoint,
      }),
    };
    const { ca } = setup({ policy: viaEice });
    const { response } = await ca({ payload: userRequest() }, { transport: 'test' });
    expect((response as CertResponse).InstanceConnectEndpoint).toEqual({ Id: 'eice-0123456789abcdef0' });
  });

  it('signs only the host names EC2 confirms for the instance', async () => {
    const confirmHostNames = vi.fn(async (_arn: string, names: readonly string[]) =>
      names.filter((n) => n === '10.0.0.5'),
    );
    const instances = {
      confirmHostNames,
      checkTargetExists: vi.fn(async () => undefined),
      instanceRole: async () => ({ kind: 'unchecked' as const }),
    };
    const { ca } = setup({ who: instance, instances });
    const { response } = await ca(
      { payload: { ...hostRequest, PublicKey: subjectKey, Principals: ['10.0.0.5', 'bank.example.com'] } },
      { transport: 'test' },
    );
    expect((response as CertResponse).Principals).toEqual([ARN, '10.0.0.5']);
    expect(confirmHostNames).toHaveBeenCalledWith(ARN, ['10.0.0.5', 'bank.example.com']);
  });

  it('refuses a user certificate for a target EC2 does not know, before asking the policy', async () => {
    const checkTargetExists = vi.fn(async () =>
      Promise.reject(forbidden(`instance ${ARN} does not exist in us-east-1`)),
    );
    const authorizeUser = vi.fn(routed.authorizeUser);
    const { ca, sign } = setup({
      instances: { confirmHostNames: async () => [], checkTargetExists, instanceRole: vi.fn() },
      policy: { ...routed, authorizeUser },
    });
    const { status } = await ca({ payload: userRequest() }, { transport: 'test' });
    expect(status).toBe(403);
    expect(authorizeUser).not.toHaveBeenCalled();
    expect(sign).not.toHaveBeenCalled();
  });

  it('does not look targets up when LKP_VERIFY_TARGETS=off', async () => {
    const checkTargetExists = vi.fn(async () => undefined);
    const { ca } = setup({
      config: { ...config, verifyTargets: 'off' },
      instances: { confirmHostNames: async () => [], checkTargetExists, instanceRole: vi.fn() },
    });
    expect((await ca({ payload: userRequest() }, { transport: 'test' })).status).toBe(200);
    expect(checkTargetExists).not.toHaveBeenCalled();
  });
});

describe('createCa: network leases', () => {
  const leasing: Policy = {
    name: 'leasing',
    authorizeUser: async (req) => ({
      principals: [`${req.SshUsername}@${req.RemoteInstanceArn}`],
      criticalOptions: {},
      extensions: [],
      ingress: { securityGroupId: 'sg-0123456789abcdef0', protocol: 'tcp' },
    }),
    authorizeHost: async () => Promise.reject(forbidden('no')),
    authorizeAccounts: async () => Promise.reject(forbidden('no')),
  };

  it('is a PolicyError when the CA has no lease groups configured', async () => {
    const { ca } = setup({ policy: leasing });
    const { status, response } = await ca(
      { payload: userRequest() },
      { transport: 'http', sourceIp: '127.0.0.1' },
    );
    expect(status).toBe(502);
    expect((response as ErrorResponse).Error.Message).toMatch(/Ingress needs LKP_INGRESS_GROUPS/);
  });

  it('opens the lease with the observed address and the certificate expiry, and reports it', async () => {
    const open = vi.fn(async (o: { validBefore: number }) => ({
      securityGroupId: 'sg-0123456789abcdef0',
      cidr: '192.0.2.1/32',
      ports: [22],
      protocol: 'tcp' as const,
      until: o.validBefore,
      revoked: 0,
    }));
    const leases = { open, close: vi.fn(), sweep: vi.fn() };
    const { ca, audit } = setup({ policy: leasing, leases });
    const { response } = await ca(
      { payload: userRequest() },
      { transport: 'function-url', sourceIp: '192.0.2.1' },
    );
    const cert = response as CertResponse;
    expect(open).toHaveBeenCalledWith(
      expect.objectContaining({
        callerArn: alice.Arn,
        sourceIp: '192.0.2.1',
        transport: 'function-url',
        validBefore: cert.ValidBefore,
      }),
    );
    expect(cert.Ingress).toEqual({
      SecurityGroupId: 'sg-0123456789abcdef0',
      Cidr: '192.0.2.1/32',
      Ports: [22],
      Until: cert.ValidBefore,
    });
    expect(audit()[0]).toMatchObject({ decision: 'allow', ingress: { cidr: '192.0.2.1/32' } });
  });

  it('hands out no certificate when the lease cannot be opened', async () => {
    const leases = {
      open: vi.fn(async () => Promise.reject(forbidden('this policy requires a network lease'))),
      close: vi.fn(),
      sweep: vi.fn(),
    };
    const { ca } = setup({ policy: leasing, leases });
    const { status, response } = await ca({ payload: userRequest() }, { transport: 'invoke' });
    expect(status).toBe(403);
    expect(response).not.toHaveProperty('Certificate');
  });
});

describe('createCa: Close (revoke my leases now)', () => {
  const closeRequest = () => ({ Kind: 'Close', Identity: identity, PublicKey: subjectKey });

  it("revokes the proved caller's leases and nobody else's", async () => {
    const close = vi.fn(async () => 2);
    const { ca, audit } = setup({ leases: { open: vi.fn(), close, sweep: vi.fn() } });
    const { status, response } = await ca({ payload: closeRequest() }, { transport: 'http' });
    expect(status).toBe(200);
    expect(response).toEqual({ Closed: 2 });
    expect(close).toHaveBeenCalledWith(alice.Arn);
    expect(audit()[0]).toMatchObject({ decision: 'allow', kind: 'Close', caller: alice.Arn, closed: 2 });
  });

  it('closes nothing for a caller whose proof fails', async () => {
    const close = vi.fn(async () => 2);
    const { ca } = setup({
      leases: { open: vi.fn(), close, sweep: vi.fn() },
      verifyIdentity: async () => Promise.reject(unauthenticated('bad proof')),
    });
    expect((await ca({ payload: closeRequest() }, { transport: 'http' })).status).toBe(401);
    expect(close).not.toHaveBeenCalled();
  });

  it('says so when the CA has no lease groups', async () => {
    const { ca } = setup();
    const { status, response } = await ca({ payload: closeRequest() }, { transport: 'http' });
    expect(status).toBe(400);
    expect((response as ErrorResponse).Error.Message).toMatch(/opens no network leases/);
  });
});
