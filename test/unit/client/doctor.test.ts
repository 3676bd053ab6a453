import { afterEach, describe, expect, it, vi } from 'vitest';
import { doctorCommand } from '../../../client/commands/doctor.js';
import {
  runDoctor,
  formatChecks,
  stsFailure,
  type Check,
  type DoctorProbes,
} from '../../../client/lib/doctor.js';
import { startStsStandin } from '../../../src/local/sts-standin.js';

const NOW = new Date('2025-01-02T03:04:05Z');
const HOME = '/home/alice';

function probes(overrides: Partial<DoctorProbes> = {}): DoctorProbes {
  const files: Record<string, string> = {
    [`${HOME}/.ssh/config`]: 'Include ~/.lkp/ssh_config\n\nHost *\n',
    [`${HOME}/.lkp`]: '',
    '/tmp/agent.sock': '',
  };
  return {
    callerIdentity: async () => ({
      arn: 'arn:aws:iam::111122223333:user/alice',
      account: '111122223333',
      date: new Date(NOW.getTime() - 2000),
    }),
    caInfo: async () => ({
      keys: 1,
      serverId: 'lkp-prod',
      stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
      stsRegion: 'eu-west-1',
    }),
    readFile: (path) => files[path],
    exists: (path) => path in files,
    sshVersion: async () => 'OpenSSH_9.6p1 Ubuntu-3ubuntu13, OpenSSL 3.0.13 30 Jan 2024\n',
    env: { SSH_AUTH_SOCK: '/tmp/agent.sock' },
    home: HOME,
    now: () => NOW,
    ...overrides,
  };
}

const byName = (checks: Check[], name: string) => checks.find((c) => c.name === name);

describe('runDoctor', () => {
  it('is all ok on a healthy setup, naming who you are', async () => {
    const checks = await runDoctor({ caWhere: 'https://ca.example/' }, probes());
    expect(checks.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(byName(checks, 'aws credentials')?.detail).toContain('account 111122223333');
    expect(byName(checks, 'clock')?.detail).toBe('local clock is 2 s ahead of AWS');
  });

  it('fails without credentials, with the fix', async () => {
    const checks = await runDoctor(
      {},
      probes({ callerIdentity: () => Promise.reject(new Error('no AWS credentials found')) }),
    );
    expect(byName(checks, 'aws credentials')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('aws sso login'),
    });
    expect(byName(checks, 'ca')?.status).toBe('warn');
    expect(byName(checks, 'clock')?.status).toBe('warn');
  });

  it('fails when the CA cannot be reached', async () => {
    const checks = await runDoctor(
      { caWhere: 'https://ca.example/' },
      probes({ caInfo: () => Promise.reject(new Error('could not reach the CA')) }),
    );
    expect(byName(checks, 'ca')).toMatchObject({ status: 'fail', detail: 'could not reach the CA' });
  });

  it.each([
    [30, 'ok', undefined],
    [-90, 'warn', undefined],
    [301, 'fail', undefined],
    [200, 'fail', '120'],
  ])('clock %i s off → %s (LKP_CLOCK_SKEW=%s)', async (skew, status, limit) => {
    const date = new Date(NOW.getTime() - skew * 1000);
    const checks = await runDoctor(
      {},
      probes({
        callerIdentity: async () => ({
          arn: 'arn:aws:iam::111122223333:user/alice',
          account: '111122223333',
          date,
        }),
        env: { SSH_AUTH_SOCK: '/tmp/agent.sock', LKP_CLOCK_SKEW: limit },
      }),
    );
    expect(byName(checks, 'clock')?.status).toBe(status);
  });

  it('warns about missing lkp setup and ssh-agent', async () => {
    const checks = await runDoctor({}, probes({ readFile: () => 'Host *\n', exists: () => false, env: {} }));
    expect(byName(checks, '~/.lkp')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('lkp setup'),
    });
    expect(byName(checks, 'ssh config')?.detail).toContain('no Include');
    expect(byName(checks, 'ssh-agent')?.status).toBe('warn');
  });

  it.each([
    ['OpenSSH_7.4p1, OpenSSL 1.0.2k-fips', 'warn'],
    ['OpenSSH_8.2p1 Ubuntu-4ubuntu0.5', 'ok'],
    ['OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2', 'warn'],
  ])('ssh %s → %s', async (banner, status) => {
    const checks = await runDoctor({}, probes({ sshVersion: async () => banner }));
    expect(byName(checks, 'ssh')?.status).toBe(status);
  });

  it('fails without ssh', async () => {
    const checks = await runDoctor({}, probes({ sshVersion: () => Promise.reject(new Error('ENOENT')) }));
    expect(byName(checks, 'ssh')?.status).toBe('fail');
  });

  it('prints fixes only for problems', () => {
    const text = formatChecks([
      { name: 'clock', status: 'ok', detail: 'fine', fix: 'never shown' },
      { name: 'ssh', status: 'fail', detail: 'ssh was not found', fix: 'install it' },
    ]);
    expect(text).toBe(
      'ok    clock           fine\nfail  ssh             ssh was not found\n      fix: install it',
    );
  });
});

describe('lkp doctor', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('asks STS who you are and reads its clock, and exits 1 on a failed check', async () => {
    const sts = await startStsStandin({
      region: 'us-east-1',
      principals: [{ arn: 'arn:aws:iam::111122223333:user/alice' }],
    });
    try {
      const { accessKeyId, secretAccessKey } = sts.principals[0]!.credentials;
      vi.stubEnv('AWS_ENDPOINT_URL_STS', sts.url);
      vi.stubEnv('AWS_ACCESS_KEY_ID', accessKeyId);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', secretAccessKey);
      vi.stubEnv('AWS_SESSION_TOKEN', undefined);
      vi.stubEnv('AWS_PROFILE', undefined);
      vi.stubEnv('LKP_CA_URL', undefined);
      const output: string[] = [];
      const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        output.push(String(chunk));
        return true;
      });
      try {
        await doctorCommand.parseAsync(['--json', '--ca', 'http://127.0.0.1:1/'], { from: 'user' });
      } finally {
        write.mockRestore();
      }
      const result = JSON.parse(output.join('')) as { ok: boolean; checks: Check[] };
      expect(byName(result.checks, 'aws credentials')?.detail).toContain(
        'arn:aws:iam::111122223333:user/alice',
      );
      expect(byName(result.checks, 'clock')?.status).toBe('ok');
      expect(byName(result.checks, 'ca')?.status).toBe('fail');
      expect(result.ok).toBe(false);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = 0;
      await sts.close();
    }
  });
});

describe('stsFailure names the real cause', () => {
  it('a loopback stand-in that refused is not an `aws sso login` problem', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    const failure = stsFailure(refused, 'http://127.0.0.1:4566');
    expect(failure.message).toBe('could not reach STS at http://127.0.0.1:4566 (ECONNREFUSED)');
    expect(failure.fix).toMatch(/local stack/);
    expect(failure.fix).not.toMatch(/sso/);
  });

  it('names an unknown host, expired sessions and refused credentials', () => {
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND sts.example'), { code: 'ENOTFOUND' });
    expect(stsFailure(dns, 'https://sts.us-east-1.amazonaws.com').fix).toMatch(/network, proxy, DNS/);
    const expired = Object.assign(new Error('expired'), { name: 'ExpiredTokenException' });
    expect(stsFailure(expired, 'https://sts.us-east-1.amazonaws.com').fix).toMatch(/aws sso login/);
    const bad = Object.assign(new Error('bad'), { name: 'InvalidClientTokenId' });
    expect(stsFailure(bad, 'http://127.0.0.1:4566').fix).toMatch(/export lines/);
  });

  it('reaches runDoctor as the fix of the credentials check', async () => {
    const checks = await runDoctor(
      {},
      probes({
        callerIdentity: () =>
          Promise.reject(
            stsFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'http://127.0.0.1:9'),
          ),
      }),
    );
    expect(byName(checks, 'aws credentials')?.fix).toMatch(/local stack/);
  });
});
