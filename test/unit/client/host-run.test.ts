import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceMetadata } from '../../../client/lib/host/imds.js';
import { runHost, type HostDeps, type HostOptions } from '../../../client/lib/host/run-host.js';
import { SYNC_MARKER } from '../../../client/lib/host/sync-timer.js';
import { runCommand } from '../../../client/lib/host/system.js';
import { createCertificate, parsePublicKey, randomSerial } from '../../../src/cert/index.js';
import { generateKeyPair } from '../../../src/local/openssh.js';
import type { CertResponse, InfoResponse } from '../../../src/protocol.js';
import { fileSigner } from '../../../src/signer/file.js';
import type { Signer } from '../../../src/signer/signer.js';

const ARN = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';
const METADATA: InstanceMetadata = {
  region: 'us-east-1',
  account: '111122223333',
  instanceId: 'i-0123456789abcdef0',
  instanceArn: ARN,
  localIpv4: '10.0.0.5',
  localHostname: 'ip-10-0-0-5.ec2.internal',
};
const LIFETIME = 3600;

let root: string;
let ca: Signer;
let info: InfoResponse;
let clock: number;
let metadata: InstanceMetadata;
let asked: { Principals: string[] }[];
let commands: string[][];
let log: string[];

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'lkp-host-root-'));
  const caDir = mkdtempSync(join(tmpdir(), 'lkp-host-ca-'));
  ca = await fileSigner((await generateKeyPair(caDir, 'ca')).privatePath);
  rmSync(caDir, { recursive: true, force: true });
  info = {
    CaPublicKeys: [ca.publicKey],
    ServerId: 'lkp-test',
    StsEndpoint: 'http://127.0.0.1:1',
    StsRegion: 'us-east-1',
  };
  clock = 1_700_000_000;
  metadata = METADATA;
  asked = [];
  commands = [];
  mkdirSync(join(root, 'etc/ssh'), { recursive: true });
  writeFileSync(
    join(root, 'etc/ssh/sshd_config'),
    `Include ${root}/etc/ssh/sshd_config.d/*.conf\nPidFile none\n`,
  );
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const options = (overrides: Partial<HostOptions> = {}): HostOptions => ({
  ca: 'http://127.0.0.1:9/',
  caArgs: ['--ca', 'http://127.0.0.1:9/'],
  sshdConfigDir: '/etc/ssh/sshd_config.d',
  hostKey: '/etc/ssh/ssh_host_ed25519_key',
  principals: [],
  dryRun: false,
  reload: true,
  root,
  lkpCommand: ['/usr/bin/node', '/opt/lkp/cli.js'],
  ...overrides,
});

/** A CA that signs what it is asked for (the real CA's checks are tested elsewhere). */
function deps(): HostDeps {
  log = [];
  return {
    metadata: async () => metadata,
    caInfo: async () => info,
    requestHostCertificate: async (_url, _info, ask): Promise<CertResponse> => {
      asked.push({ Principals: ask.Principals });
      const cert = await createCertificate(
        {
          kind: 'host',
          publicKey: parsePublicKey(ask.PublicKey),
          serial: randomSerial(),
          keyId: ask.HostInstanceArn,
          principals: [ask.HostInstanceArn, ...ask.Principals],
          validAfter: clock - 60,
          validBefore: clock - 60 + LIFETIME,
          criticalOptions: {},
          extensions: [],
        },
        ca,
      );
      return {
        Kind: 'Host',
        Certificate: cert.line,
        KeyId: ask.HostInstanceArn,
        Serial: '1',
        Principals: [ask.HostInstanceArn, ...ask.Principals],
        ValidAfter: clock - 60,
        ValidBefore: clock - 60 + LIFETIME,
        CaPublicKeys: info.CaPublicKeys,
      };
    },
    // ssh-keygen and sshd -t run for real; systemctl and kill are only recorded.
    run: async (argv) => {
      commands.push([...argv]);
      return argv[0] === 'ssh-keygen' || argv[1] === '-t' ? runCommand(argv) : '';
    },
    now: () => clock,
    log: (line) => log.push(line),
  };
}

const at = (path: string) => join(root, path);

describe('runHost', () => {
  it('creates the key, asks for a certificate and writes every file on the first run', async () => {
    const report = await runHost(options(), deps());
    expect(asked).toEqual([{ Principals: ['ip-10-0-0-5.ec2.internal', '10.0.0.5'] }]);
    expect(commands.map((c) => c[0])).toEqual(['ssh-keygen', expect.stringMatching(/sshd$/)]);
    for (const path of [
      'etc/ssh/ssh_host_ed25519_key',
      'etc/ssh/ssh_host_ed25519_key-cert.pub',
      'etc/ssh/lkp_trusted_user_ca_keys',
      'etc/ssh/sshd_config.d/50-lkp.conf',
      'usr/local/libexec/lkp-principals',
      'var/lib/lkp/host.json',
      'etc/cron.d/lkp-host-renew',
    ])
      expect(existsSync(at(path)), path).toBe(true);
    expect(report.renewal).toBe('no host certificate yet');
    expect(log).toContain(`not reloading sshd: --root ${root} is not the live system`);
  });

  it('changes nothing and asks for nothing on a second run', async () => {
    await runHost(options(), deps());
    commands = [];
    clock += 600;
    const report = await runHost(options(), deps());
    expect(asked).toHaveLength(1);
    expect(report.changed).toEqual([]);
    expect(commands).toEqual([]);
    expect(log).toContain('unchanged: nothing to do');
  });

  it('renews past two thirds of the lifetime, and when the names change', async () => {
    await runHost(options(), deps());
    clock += (LIFETIME * 2) / 3;
    expect((await runHost(options(), deps())).renewal).toMatch(/two thirds/);
    metadata = { ...METADATA, publicIpv4: '54.1.2.3' };
    expect((await runHost(options(), deps())).renewal).toMatch(/names changed/);
    expect(asked.at(-1)?.Principals).toContain('54.1.2.3');
    expect(asked).toHaveLength(3);
  });

  it('with --dry-run prints the plan and writes nothing', async () => {
    const report = await runHost(options({ dryRun: true }), deps());
    expect(asked).toEqual([]);
    expect(commands).toEqual([]);
    expect(existsSync(at('etc/ssh/sshd_config.d'))).toBe(false);
    expect(existsSync(at('etc/ssh/ssh_host_ed25519_key'))).toBe(false);
    expect(log).toContain(
      `would run: ssh-keygen -q -t ed25519 -N  -C ${ARN} -f ${at('etc/ssh/ssh_host_ed25519_key')}`,
    );
    expect(log.join('\n')).toMatch(/would write .*50-lkp\.conf \(new, mode 644\):\n {4}# Written by/);
    expect(report.changed).toContain(at('usr/local/libexec/lkp-principals'));
  });

  it('adds the Include to an sshd_config without one, keeping a backup', async () => {
    writeFileSync(at('etc/ssh/sshd_config'), 'PidFile none\n');
    await runHost(options(), deps());
    expect(readFileSync(at('etc/ssh/sshd_config'), 'utf8')).toMatch(
      new RegExp(`^Include ${root}/etc/ssh/sshd_config.d/\\*\\.conf$`, 'm'),
    );
    expect(readFileSync(at('etc/ssh/sshd_config.lkp-backup'), 'utf8')).toBe('PidFile none\n');
  });

  it('does not make a configuration live that sshd -t rejects', async () => {
    writeFileSync(
      at('etc/ssh/sshd_config'),
      `Include ${root}/etc/ssh/sshd_config.d/*.conf\nNoSuchOption yes\n`,
    );
    await expect(runHost(options(), deps())).rejects.toThrow(/sshd -t .* failed/);
    expect(existsSync(at('etc/ssh/sshd_config.d/50-lkp.conf'))).toBe(false);
  });

  it('installs a systemd timer when systemd runs, and reloads ssh on the live system only', async () => {
    mkdirSync(at('run/systemd/system'), { recursive: true });
    await runHost(options({ principals: ['bastion.example.com'] }), deps());
    expect(readFileSync(at('etc/systemd/system/lkp-host-renew.timer'), 'utf8')).toMatch(
      /^OnUnitActiveSec=600s$/m,
    );
    expect(readFileSync(at('etc/systemd/system/lkp-host-renew.service'), 'utf8')).toContain(
      `ExecStart=/usr/bin/node /opt/lkp/cli.js host --ca http://127.0.0.1:9/ --sshd-config-dir /etc/ssh/sshd_config.d --host-key /etc/ssh/ssh_host_ed25519_key --principal bastion.example.com --root ${root}`,
    );
    expect(commands).toContainEqual(['systemctl', `--root=${root}`, 'enable', 'lkp-host-renew.timer']);
    expect(commands.some((c) => c.includes('try-reload-or-restart'))).toBe(false);
  });
});

describe('runHost and the retired user sync job', () => {
  const service = () => at('etc/systemd/system/lkp-host-sync-users.service');
  const timer = () => at('etc/systemd/system/lkp-host-sync-users.timer');

  it('removes the sync units an older lkp host wrote, and leaves a hand-made one', async () => {
    for (const dir of ['run/systemd/system', 'etc/systemd/system', 'etc/cron.d'])
      mkdirSync(at(dir), { recursive: true });
    writeFileSync(service(), `${SYNC_MARKER}\n[Service]\nExecStart=/bin/true\n`);
    writeFileSync(timer(), `${SYNC_MARKER}\n[Timer]\nOnUnitActiveSec=10min\n`);
    writeFileSync(at('etc/cron.d/lkp-host-sync-users'), '# mine\n*/5 * * * * root /usr/local/bin/sync\n');
    const report = await runHost(options(), deps());
    expect(existsSync(service())).toBe(false);
    expect(existsSync(timer())).toBe(false);
    expect(existsSync(at('etc/cron.d/lkp-host-sync-users'))).toBe(true);
    expect(report.changed).toEqual(expect.arrayContaining([service(), timer()]));
    expect(commands).toContainEqual(['systemctl', `--root=${root}`, 'disable', 'lkp-host-sync-users.timer']);
    expect(log).toContain(`leaving ${at('etc/cron.d/lkp-host-sync-users')}: not written by lkp host`);
  });
});
