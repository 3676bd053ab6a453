import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  includesDropInDir,
  renderDropIn,
  renderPrincipalsScript,
  renderTrustedCaKeys,
  withDropInInclude,
} from '../../../client/lib/host/sshd-dropin.js';

const ARN = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';

describe('renderDropIn', () => {
  it('presents the certificate, trusts the CA and asks the principals script as nobody', () => {
    const text = renderDropIn({
      hostKeys: ['/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_ecdsa_key'],
      hostCertificate: '/etc/ssh/ssh_host_ed25519_key-cert.pub',
      trustedCaKeys: '/etc/ssh/lkp_trusted_user_ca_keys',
      principalsScript: '/usr/local/libexec/lkp-principals',
    });
    const directives = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(directives).toEqual([
      'HostKey /etc/ssh/ssh_host_ed25519_key',
      'HostKey /etc/ssh/ssh_host_ecdsa_key',
      'HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub',
      'TrustedUserCAKeys /etc/ssh/lkp_trusted_user_ca_keys',
      'AuthorizedPrincipalsCommand /usr/local/libexec/lkp-principals %u',
      'AuthorizedPrincipalsCommandUser nobody',
    ]);
  });

  it('refuses a path sshd would split or misread', () => {
    expect(() =>
      renderDropIn({
        hostKeys: ['/etc/my keys/k'],
        hostCertificate: '/c',
        trustedCaKeys: '/t',
        principalsScript: '/p',
      }),
    ).toThrow(/space, quote or #/);
  });
});

describe('renderPrincipalsScript', () => {
  it('prints exactly <login>@<instance ARN> for the login sshd passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkp-principals-'));
    try {
      const script = join(dir, 'lkp-principals');
      writeFileSync(script, renderPrincipalsScript(ARN), { mode: 0o755 });
      expect(execFileSync(script, ['ec2-user'], { encoding: 'utf8' })).toBe(`ec2-user@${ARN}\n`);
      expect(execFileSync(script, ['%s$(id)'], { encoding: 'utf8' })).toBe(`%s$(id)@${ARN}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0'; rm -rf /; '",
    'arn:aws:iam::111122223333:user/alice',
    'i-0123456789abcdef0',
  ])('refuses to bake %s into a shell script', (arn) => {
    expect(() => renderPrincipalsScript(arn)).toThrow(/not an EC2 instance ARN/);
  });
});

describe('renderTrustedCaKeys', () => {
  it('writes one key per line and refuses an empty list', () => {
    expect(renderTrustedCaKeys(['ssh-ed25519 AAAA ca1 ', 'ssh-ed25519 BBBB ca2'])).toBe(
      'ssh-ed25519 AAAA ca1\nssh-ed25519 BBBB ca2\n',
    );
    expect(() => renderTrustedCaKeys([])).toThrow(/no public keys/);
  });
});

describe('includesDropInDir', () => {
  const main = '/etc/ssh/sshd_config';
  it.each([
    ['Include /etc/ssh/sshd_config.d/*.conf', true],
    ['include   sshd_config.d/*.conf', true],
    ['  Include /etc/other/*.conf /etc/ssh/sshd_config.d/*', true],
    ['#Include /etc/ssh/sshd_config.d/*.conf', false],
    ['Port 22', false],
  ])('%s → %s', (line, expected) => {
    expect(includesDropInDir(`${line}\nPasswordAuthentication no\n`, main, '/etc/ssh/sshd_config.d')).toBe(
      expected,
    );
  });

  it('adds the Include first, where sshd reads it before any other value', () => {
    const updated = withDropInInclude('Port 22\n', '/etc/ssh/sshd_config.d');
    expect(updated.split('\n').find((l) => !l.startsWith('#'))).toBe('Include /etc/ssh/sshd_config.d/*.conf');
    expect(updated.endsWith('Port 22\n')).toBe(true);
    expect(includesDropInDir(updated, main, '/etc/ssh/sshd_config.d')).toBe(true);
  });
});
