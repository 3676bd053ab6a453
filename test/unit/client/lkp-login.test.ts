import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CaTransport } from '../../../client/lib/ca-transport.js';
import { type CaProfile, lkpPaths } from '../../../client/lib/config.js';
import { REFRESH_SECONDS } from '../../../client/lib/host-revocations.js';
import { fileKeyStore } from '../../../client/lib/keys.js';
import { type LoginContext, prepareLogin } from '../../../client/lib/login.js';
import type { InstanceLookup } from '../../../client/lib/targets.js';
import { createCertificate, parsePublicKey } from '../../../src/cert/index.js';
import { encodeKrl } from '../../../src/krl/encode.js';
import { generateKeyPair } from '../../../src/local/openssh.js';
import type { CaRequest, CertResponse, UserCertRequest } from '../../../src/protocol.js';
import { fileSigner } from '../../../src/signer/file.js';

const NOW = Math.floor(Date.now() / 1000);
const ARN = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';
const CA_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbIw2vL5a+YwUkc7qGk8CMkN2Y0lqsR1o2vF1o7QJ4m ca';
const ROGUE_CA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIg20saFVzKyuDzl077UsKT4NL7amDsumcyDsnl4ULY7 rogue';
const REVOKED_NOTHING = encodeKrl({ version: 1n, generatedAt: NOW - 10 });
const REVOKED_ONE = encodeKrl({ version: 2n, generatedAt: NOW, certificates: [{ keyIds: [ARN] }] });
const profile: CaProfile = {
  ca: { url: 'http://ca' },
  hostPatterns: [],
  defaultUser: 'ec2-user',
  caPublicKeys: [CA_PUBLIC_KEY],
};

describe('prepareLogin', () => {
  let home: string;
  let caKey: string;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'lkp-login-'));
    caKey = (await generateKeyPair(home, 'ca')).privatePath;
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  function context(answer: Partial<CertResponse> = {}, krl: () => Buffer = () => REVOKED_NOTHING) {
    const requests: UserCertRequest[] = [];
    const krlRequests: CaRequest[] = [];
    let lookups = 0;
    const transport: CaTransport = {
      where: 'http://ca',
      async call<T>(req: CaRequest): Promise<T> {
        if (req.Kind === 'Krl') {
          krlRequests.push(req);
          return { Krl: krl().toString('base64'), GeneratedAt: NOW } as T;
        }
        if (req.Kind === 'Info')
          return {
            CaPublicKeys: [CA_PUBLIC_KEY],
            ServerId: 's',
            StsEndpoint: 'https://sts.us-east-1.amazonaws.com',
            StsRegion: 'us-east-1',
          } as T;
        if (req.Kind !== 'User') throw new Error('unexpected');
        requests.push(req);
        const signed = await createCertificate(
          {
            kind: 'user',
            publicKey: parsePublicKey(req.PublicKey),
            serial: 7n,
            keyId: 'alice',
            principals: [`${req.SshUsername}@${ARN}`],
            validAfter: NOW - 60,
            validBefore: NOW + 3600,
            criticalOptions: {},
            extensions: [],
          },
          await fileSigner(caKey),
        );
        return {
          Kind: 'User',
          Certificate: signed.line,
          KeyId: 'alice',
          Serial: '7',
          Principals: [],
          ValidAfter: NOW - 60,
          ValidBefore: NOW + 3600,
          CaPublicKeys: [CA_PUBLIC_KEY],
          ...answer,
        } as T;
      },
    };
    const ec2: InstanceLookup = {
      region: async () => 'us-east-1',
      describeEndpoints: async () => [],
      describe: async () => {
        lookups += 1;
        return [
          {
            instance: { InstanceId: 'i-0123456789abcdef0', PrivateIpAddress: '10.0.0.9' },
            ownerId: '111122223333',
          },
        ];
      },
    };
    const paths = lkpPaths(join(home, String(Math.random()).slice(2)));
    const shown: string[] = [];
    const ctx: LoginContext = {
      paths,
      profileName: 'main',
      profile,
      transport: () => transport,
      credentials: async () => ({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }),
      ec2: () => ec2,
      keys: fileKeyStore(paths.keys('main')),
      now: () => NOW,
      progress: (message, step) => {
        shown.push(message);
        return step();
      },
      lkpCommand: ['/usr/bin/node', '/opt/lkp/lkp.cjs'],
    };
    return { ctx, requests, krlRequests, lookups: () => lookups, shown };
  }

  it('asks once, then reuses the certificate and the resolved target without AWS calls', async () => {
    const { ctx, requests, lookups } = context();
    const first = await prepareLogin(ctx, 'web-1', 'ec2-user');
    expect(first).toMatchObject({ arn: ARN, address: '10.0.0.9', cached: false });
    // The answer's CA key is not trusted by a login; the target file names the profile's own file.
    expect(existsSync(ctx.paths.knownHosts('main'))).toBe(false);
    expect(readFileSync(first.configFile, 'utf8')).toContain(
      `UserKnownHostsFile ${ctx.paths.knownHosts('main')}`,
    );
    const second = await prepareLogin(ctx, 'web-1', 'ec2-user');
    expect(second.cached).toBe(true);
    expect(requests).toHaveLength(1);
    expect(lookups()).toBe(1);
    // Another user is another certificate.
    await prepareLogin(ctx, 'web-1', 'root');
    expect(requests.map((r) => r.SshUsername)).toEqual(['ec2-user', 'root']);
  });

  it('shows progress for the EC2 lookup and the CA call, and none for a cached login', async () => {
    const { ctx, shown } = context();
    await prepareLogin(ctx, 'web-1', 'ec2-user');
    expect(shown).toEqual([
      'lkp: looking up web-1 in EC2',
      `lkp: requesting a certificate for ec2-user@${ARN} from ${ctx.transport().where}`,
    ]);
    await prepareLogin(ctx, 'web-1', 'ec2-user');
    expect(shown).toHaveLength(2);
  });

  it('always asks when vouchers are given, and sends them', async () => {
    const { ctx, requests } = context();
    await prepareLogin(ctx, 'web-1', 'ec2-user');
    await prepareLogin(ctx, 'web-1', 'ec2-user', { vouchers: ['lkpv1.x'] });
    expect(requests).toHaveLength(2);
    expect(requests[1]?.Vouchers).toEqual(['lkpv1.x']);
  });

  it('connects to the policy TargetAddress through its jumpboxes', async () => {
    const { ctx } = context({
      TargetAddress: '10.1.1.1',
      Jumpboxes: [
        {
          Address: 'bastion.example.com',
          User: 'jump',
          HostKeyAlias: 'bastion',
          Certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA j',
        },
      ],
    });
    const login = await prepareLogin(ctx, 'i-0123456789abcdef0', 'ec2-user');
    const conf = readFileSync(login.configFile, 'utf8');
    expect(conf).toMatch(
      /Match host "i-0123456789abcdef0" user "ec2-user"\n  Hostname 10\.1\.1\.1\n  HostKeyAlias arn:aws:ec2:/,
    );
    expect(conf).toMatch(
      /ProxyJump (lkp-jump-\w+-0)\nHost \1\n  Hostname bastion\.example\.com\n  User jump\n  HostKeyAlias bastion/,
    );
  });

  it('fetches the host revocation list with a certificate and names it in the target file', async () => {
    const { ctx, krlRequests } = context({
      Jumpboxes: [
        {
          Address: 'bastion.example.com',
          User: 'jump',
          HostKeyAlias: 'bastion',
          Certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA j',
        },
      ],
    });
    const file = ctx.paths.revokedHostKeys('main');
    const login = await prepareLogin(ctx, 'web-1', 'ec2-user');
    expect(krlRequests).toHaveLength(1);
    // The client-scoped list: no HostInstanceArn, so no locked people in it.
    expect(krlRequests[0]).not.toHaveProperty('HostInstanceArn');
    expect(readFileSync(file)).toEqual(REVOKED_NOTHING);
    // For the target and for its jumpbox.
    expect(readFileSync(login.configFile, 'utf8').match(/^ {2}RevokedHostKeys (.+)$/gm)).toEqual([
      `  RevokedHostKeys ${file}`,
      `  RevokedHostKeys ${file}`,
    ]);
  });

  it('refreshes the list on a cached login once it is a minute old, not before', async () => {
    let served = REVOKED_NOTHING;
    const { ctx, requests, krlRequests } = context({}, () => served);
    const file = ctx.paths.revokedHostKeys('main');
    await prepareLogin(ctx, 'web-1', 'ec2-user');
    served = REVOKED_ONE;
    await prepareLogin(ctx, 'web-1', 'ec2-user');
    expect(krlRequests).toHaveLength(1);
    expect(readFileSync(file)).toEqual(REVOKED_NOTHING);
    const minuteAgo = new Date((NOW - REFRESH_SECONDS) * 1000);
    utimesSync(file, minuteAgo, minuteAgo);
    const cached = await prepareLogin(ctx, 'web-1', 'ec2-user');
    expect(cached.cached).toBe(true);
    expect(requests).toHaveLength(1);
    expect(krlRequests).toHaveLength(2);
    expect(readFileSync(file)).toEqual(REVOKED_ONE);
  });

  it('keeps the last good list when the CA cannot send one, says so, and waits a minute to ask again', async () => {
    let broken = false;
    const { ctx, krlRequests } = context({}, () => {
      if (broken) throw new Error('CA down');
      return REVOKED_ONE;
    });
    const file = ctx.paths.revokedHostKeys('main');
    await prepareLogin(ctx, 'web-1', 'ec2-user');
    broken = true;
    const minuteAgo = new Date((NOW - REFRESH_SECONDS) * 1000);
    utimesSync(file, minuteAgo, minuteAgo);
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const login = await prepareLogin(ctx, 'web-1', 'ec2-user');
      await prepareLogin(ctx, 'web-1', 'ec2-user');
      expect(readFileSync(login.configFile, 'utf8')).toContain(`RevokedHostKeys ${file}`);
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(file)).toEqual(REVOKED_ONE);
    expect(krlRequests).toHaveLength(2);
    expect(written.join('')).toBe(
      `lkp: could not refresh the host revocation list of profile "main" from http://ca: CA down; ssh keeps checking hosts against the list of ${new Date(NOW * 1000).toISOString()}\n`,
    );
  });

  it('asks for nothing when told not to connect, and names no list that does not exist', async () => {
    const { ctx, krlRequests } = context();
    const login = await prepareLogin(ctx, 'web-1', 'ec2-user', { revocations: false });
    expect(krlRequests).toHaveLength(0);
    expect(readFileSync(login.configFile, 'utf8')).not.toContain('RevokedHostKeys');
  });

  it('asks the CA again when told to renew, though a certificate is cached', async () => {
    const { ctx, requests } = context();
    await prepareLogin(ctx, 'web-1', 'ec2-user');
    const renewed = await prepareLogin(ctx, 'web-1', 'ec2-user', { renew: true });
    expect(renewed.cached).toBe(false);
    expect(requests).toHaveLength(2);
  });

  it('reports a CA key that the profile does not trust, and trusts nothing from the answer', async () => {
    const { ctx } = context({ CaPublicKeys: [CA_PUBLIC_KEY, ROGUE_CA] });
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await prepareLogin(ctx, 'web-1', 'ec2-user');
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(
      /does not trust .*they were not trusted.*lkp setup --profile main --refresh-ca/,
    );
    expect(existsSync(ctx.paths.knownHosts('main'))).toBe(false);
    expect(existsSync(ctx.paths.legacyKnownHosts)).toBe(false);
  });
});
