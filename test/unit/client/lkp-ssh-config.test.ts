import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CaProfile, lkpPaths } from '../../../client/lib/config.js';
import { installProfile, uninstall } from '../../../client/lib/install.js';
import {
  addInclude,
  includeLine,
  knownHostsText,
  lkpSshConfig,
  removeInclude,
  targetSshConfig,
} from '../../../client/lib/ssh-config.js';

const profile: CaProfile = {
  ca: { url: 'http://127.0.0.1:8080/' },
  hostPatterns: ['web-*'],
  defaultUser: 'ec2-user',
  caPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbIw2vL5a+YwUkc7qGk8CMkN2Y0lqsR1o2vF1o7QJ4m lkp-ca'],
};
const PROD_CA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIg20saFVzKyuDzl077UsKT4NL7amDsumcyDsnl4ULY7 prod-ca';
const USER_CONFIG = 'Host github.com\n  User git\n\nHost *\n  ServerAliveInterval 30\n';

describe('ssh configuration written by lkp setup', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'lkp-sshcfg-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('puts one Include above the user config, once, keeps a backup, and uninstall restores the file exactly', () => {
    const paths = lkpPaths(home);
    mkdirSync(join(home, '.ssh'));
    writeFileSync(paths.userSshConfig, USER_CONFIG, { mode: 0o644 });

    expect(addInclude(paths)).toBe(true);
    expect(addInclude(paths)).toBe(false);
    const text = readFileSync(paths.userSshConfig, 'utf8');
    const lines = text.split('\n');
    expect(lines[1]).toBe(includeLine(paths));
    expect(text.match(/^Include /gm)).toHaveLength(1);
    expect(text.endsWith(USER_CONFIG)).toBe(true);
    expect(statSync(paths.userSshConfig).mode & 0o777).toBe(0o644);
    expect(readFileSync(`${paths.userSshConfig}.lkp-backup`, 'utf8')).toBe(USER_CONFIG);

    expect(removeInclude(paths)).toBe(true);
    expect(readFileSync(paths.userSshConfig, 'utf8')).toBe(USER_CONFIG);
    expect(removeInclude(paths)).toBe(false);
  });

  it('creates ~/.ssh 0700 and config 0600 when missing, with an absolute Include when $HOME is not the passwd home', () => {
    const paths = lkpPaths(home);
    addInclude(paths);
    expect(statSync(join(home, '.ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(paths.userSshConfig).mode & 0o777).toBe(0o600);
    expect(includeLine(paths)).toBe(`Include ${paths.sshConfig}`);
  });

  it('removes the known_hosts all profiles once shared, which trusted every CA for every host', () => {
    const paths = lkpPaths(home);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.legacyKnownHosts, `@cert-authority * ${PROD_CA}\n`);
    installProfile(paths, 'main', profile, { makeDefault: false, lkpCommand: ['/usr/bin/node', '/x.js'] });
    expect(existsSync(paths.legacyKnownHosts)).toBe(false);
  });

  it('writes @cert-authority lines for every CA key, once each', () => {
    expect(knownHostsText(['k1 AAAA a', 'k2 BBBB b', 'k1 AAAA a'])).toBe(
      '@cert-authority * k1 AAAA a\n@cert-authority * k2 BBBB b\n',
    );
  });

  it('generates a Match exec block that OpenSSH accepts and that quotes %h and %r', () => {
    const paths = lkpPaths(home);
    const text = lkpSshConfig({
      paths,
      profiles: [{ name: 'main', profile }],
      lkpCommand: ['/usr/bin/node', '/opt/lkp/cli.js'],
    });
    expect(text).toContain(`Match host "i-*,arn:aws*:ec2:*,web-*,!*'*"\n  User ec2-user`);
    expect(text).toContain(`exec "'/usr/bin/node' '/opt/lkp/cli.js' ssh-match --profile main '%h' '%r'"`);
    expect(text).toContain(`Include ${paths.targets('main')}/*.conf`);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.sshConfig, text);
    // ssh -G parses the file (the exec fails: no match, as when lkp is missing) and resolves example.org untouched.
    const out = execFileSync('ssh', ['-G', '-F', paths.sshConfig, 'example.org'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out).toMatch(/^hostname example\.org$/m);
  });

  it('a per-target file sets the alias, address and certificate, with a Host block per jumpbox', () => {
    const text = targetSshConfig({
      host: 'web-1',
      user: 'ec2-user',
      address: '10.0.0.5',
      hostKeyAlias: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0',
      identityFile: '/h/.lkp/keys/main/id_ed25519',
      certificateFile: '/h/.lkp/certs/main/abc-cert.pub',
      knownHostsFile: '/h/.lkp/known_hosts',
      jumpboxes: [
        {
          alias: 'lkp-jump-1-0',
          address: 'bastion.example.com',
          user: 'jump',
          hostKeyAlias: 'bastion',
          certificateFile: '/h/j-cert.pub',
        },
      ],
      comment: 'test',
    });
    expect(text).toContain(
      'Match host "web-1" user "ec2-user"\n  Hostname 10.0.0.5\n  HostKeyAlias arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0',
    );
    expect(text).toContain(
      '  ProxyJump lkp-jump-1-0\nHost lkp-jump-1-0\n  Hostname bastion.example.com\n  User jump\n  HostKeyAlias bastion',
    );
    expect(text).toContain('  StrictHostKeyChecking yes');
    const dir = join(home, 't');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x.conf'), text);
    const out = execFileSync('ssh', ['-G', '-F', join(dir, 'x.conf'), '-l', 'ec2-user', 'web-1'], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/^hostkeyalias arn:aws:ec2:us-east-1:111122223333:instance\/i-0123456789abcdef0$/m);
    expect(out).toMatch(/^proxyjump lkp-jump-1-0$/m);
  });

  it('writes a port from host:port and [v6]:port as Port, for the target and for each jumpbox', () => {
    const text = targetSshConfig({
      host: 'i-0123456789abcdef0',
      user: 'ec2-user',
      address: '127.0.0.1:2222',
      hostKeyAlias: 'arn',
      identityFile: '/k',
      certificateFile: '/c',
      knownHostsFile: '/kh',
      jumpboxes: [
        {
          alias: 'lkp-jump-1-0',
          address: '[2001:db8::10]:2200',
          user: 'jump',
          hostKeyAlias: 'bastion',
          certificateFile: '/j',
        },
      ],
      comment: '',
    });
    expect(text).toContain('  Hostname 127.0.0.1\n  Port 2222\n');
    expect(text).toContain('Host lkp-jump-1-0\n  Hostname 2001:db8::10\n  Port 2200\n');
    const dir = join(home, 'p');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x.conf'), text);
    const resolved = (host: string) =>
      execFileSync('ssh', ['-G', '-F', join(dir, 'x.conf'), '-l', 'ec2-user', host], { encoding: 'utf8' });
    expect(resolved('i-0123456789abcdef0')).toMatch(/^hostname 127\.0\.0\.1\nport 2222$/m);
    expect(resolved('lkp-jump-1-0')).toMatch(/^port 2200$/m);
  });

  it('refuses CA-supplied names that would inject ssh options', () => {
    const base = {
      host: 'web-1',
      user: 'ec2-user',
      hostKeyAlias: 'arn',
      identityFile: '/k',
      certificateFile: '/c',
      knownHostsFile: '/kh',
      jumpboxes: [],
      comment: '',
    };
    expect(() => targetSshConfig({ ...base, address: '10.0.0.5\n  ProxyCommand sh -c evil' })).toThrow(
      /unexpected characters/,
    );
    expect(() => targetSshConfig({ ...base, address: '10.0.0.5 -oProxyCommand=x' })).toThrow(
      /unexpected characters/,
    );
    expect(() => targetSshConfig({ ...base, address: '10.0.0.5:22\n  ProxyCommand x' })).toThrow(
      /unexpected characters/,
    );
    expect(() => targetSshConfig({ ...base, address: '-oProxyCommand=x:22' })).toThrow(
      /unexpected characters/,
    );
  });

  it('writes a tunnel as a quoted ProxyCommand with only %p for ssh to expand', () => {
    const base = {
      host: 'web-1',
      user: 'ec2-user',
      address: '10.0.1.23',
      hostKeyAlias: 'arn',
      identityFile: '/k',
      certificateFile: '/c',
      knownHostsFile: '/kh',
      jumpboxes: [],
      comment: '',
    };
    const text = targetSshConfig({
      ...base,
      proxyCommand: ['/usr/bin/node', '/opt/my lkp/lkp.cjs', 'tunnel', '--port', '%p'],
    });
    expect(text).toMatch(
      /^ {2}ProxyCommand '\/usr\/bin\/node' '\/opt\/my lkp\/lkp\.cjs' 'tunnel' '--port' %p$/m,
    );
    // ssh would expand %h, %r… inside the words, and a quote would end the shell word early.
    expect(() => targetSshConfig({ ...base, proxyCommand: ['/opt/100%h/lkp', 'tunnel'] })).toThrow(
      /contains %/,
    );
    expect(() =>
      targetSshConfig({ ...base, proxyCommand: ["/opt/x'; touch /tmp/pwned; '", 'tunnel'] }),
    ).toThrow(/quotes/);
  });

  it('install then uninstall leaves a pre-existing user config as it was and keeps keys unless purged', () => {
    const paths = lkpPaths(home);
    mkdirSync(join(home, '.ssh'));
    writeFileSync(paths.userSshConfig, USER_CONFIG);
    const cmd = ['/usr/bin/node', '/opt/lkp/cli.js'];
    installProfile(paths, 'main', profile, { makeDefault: false, lkpCommand: cmd });
    installProfile(
      paths,
      'prod',
      { ...profile, hostPatterns: ['prod-*'], caPublicKeys: [PROD_CA] },
      { makeDefault: false, lkpCommand: cmd },
    );
    // Each profile trusts its own CA only (issue 15, item 4).
    expect(readFileSync(paths.knownHosts('main'), 'utf8')).toBe(
      `@cert-authority * ${profile.caPublicKeys[0]}\n`,
    );
    expect(readFileSync(paths.knownHosts('prod'), 'utf8')).toBe(`@cert-authority * ${PROD_CA}\n`);
    const sshConfig = readFileSync(paths.sshConfig, 'utf8');
    expect(sshConfig.indexOf('# profile main')).toBeLessThan(sshConfig.indexOf('# profile prod'));
    mkdirSync(paths.keys('main'), { recursive: true });
    writeFileSync(join(paths.keys('main'), 'id_ed25519'), 'key');

    uninstall(paths, { profile: 'prod', purge: false, lkpCommand: cmd });
    expect(readFileSync(paths.sshConfig, 'utf8')).not.toContain('prod-*');
    expect(existsSync(paths.knownHosts('prod'))).toBe(false);
    expect(readFileSync(paths.userSshConfig, 'utf8')).toContain('Include');

    uninstall(paths, { purge: false, lkpCommand: cmd });
    expect(readFileSync(paths.userSshConfig, 'utf8')).toBe(USER_CONFIG);
    for (const f of [paths.sshConfig, paths.knownHosts('main'), paths.config])
      expect(existsSync(f)).toBe(false);
    expect(existsSync(join(paths.keys('main'), 'id_ed25519'))).toBe(true);
    uninstall(paths, { purge: true, lkpCommand: cmd });
    expect(existsSync(paths.dir)).toBe(false);
  });
});
