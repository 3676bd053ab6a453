/**
 * The agent as sshd's AuthorizedPrincipalsCommand (DESIGN §3.4, issue 15 item 1): a login
 * certificate gets `<user>@<ARN>`; a jumpbox certificate gets it only with options that forward to
 * its routed next hop — never to the metadata service, the bastion's loopback or anywhere else.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAgent } from './agent.js';

vi.setConfig({ testTimeout: 60_000 });

const ARN = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';
const JUMP_OPTIONS = 'restrict,port-forwarding';
let dir: string;
let serial = 0;

/** A user certificate from a throwaway CA with these principals, as sshd hands it over (%t %k). */
function certificate(principals: string[], extra: string[] = []): [string, string] {
  const name = `u${++serial}`;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  execFileSync('ssh-keygen', [
    '-q',
    '-s',
    join(dir, 'ca'),
    '-I',
    'arn:aws:iam::111122223333:user/alice',
    '-n',
    principals.join(','),
    ...extra,
    join(dir, `${name}.pub`),
  ]);
  const [type = '', blob = ''] = readFileSync(join(dir, `${name}-cert.pub`), 'utf8').split(' ');
  return [type, blob];
}

async function principalsFor(user: string, cert: [string, string], flags: string[] = []): Promise<string> {
  const run = await runAgent(['principals', ...flags, ARN, user, ...cert]);
  expect(run.code).toBe(0);
  return run.stdout;
}

const jumpbox = (route: string) => certificate([`jump@${ARN}`, 'lkp-jumpbox', `lkp-permitopen=${route}`]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-principals-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lkp-host-agent principals', () => {
  it('accepts a login certificate as <user>@<instance ARN>, without options', async () => {
    expect(await principalsFor('ec2-user', certificate([`ec2-user@${ARN}`]))).toBe(`ec2-user@${ARN}\n`);
  });

  it('prints nothing for a user name or ARN of the wrong shape', async () => {
    const cert = certificate([`ec2-user@${ARN}`]);
    expect((await runAgent(['principals', ARN, 'a b', ...cert])).stdout).toBe('');
    expect((await runAgent(['principals', `${ARN} x`, 'ec2-user', ...cert])).stdout).toBe('');
  });

  it('restricts a jumpbox certificate to its routed target, with no remote forwarding', async () => {
    expect(await principalsFor('jump', jumpbox('10.0.0.5:22'))).toBe(
      `${JUMP_OPTIONS},permitopen="10.0.0.5:22",permitlisten="127.0.0.1:1" jump@${ARN}\n`,
    );
    expect(await principalsFor('jump', jumpbox('[fd00::5]:2222'))).toContain(',permitopen="[fd00::5]:2222",');
  });

  it.each([
    ['the IPv4 metadata service', '169.254.169.254:80'],
    ['the IPv6 metadata service', '[fd00:ec2::254]:80'],
    ['another link-local address', '169.254.170.2:80'],
    ['loopback', '127.0.0.1:22'],
    ['IPv6 loopback', '[::1]:22'],
    ['an IPv4-mapped loopback', '[::ffff:127.0.0.1]:22'],
    ['localhost by name', 'localhost:22'],
    ['the IPv6 loopback by its /etc/hosts name', 'ip6-localhost:22'],
    ['a route without a port', '10.0.0.5'],
    ['a route with sshd option syntax', '10.0.0.5:22",permitopen="*:*'],
  ])('refuses a jumpbox certificate routed to %s (no line, so sshd refuses it)', async (_, route) => {
    expect(await principalsFor('jump', jumpbox(route))).toBe('');
  });

  // The machine's own name resolves to loopback on many images (Debian's /etc/hosts, this CI).
  it.skipIf(!resolvesToLoopback(hostname()))('refuses a name that resolves to loopback', async () => {
    expect(await principalsFor('jump', jumpbox(`${hostname()}:22`))).toBe('');
  });

  it('refuses a jumpbox certificate without a route, and any jumpbox login as root', async () => {
    expect(await principalsFor('jump', certificate([`jump@${ARN}`, 'lkp-jumpbox']))).toBe('');
    expect(await principalsFor('root', jumpbox('10.0.0.5:22'))).toBe('');
  });

  it('allows a loopback route only where the drop-in says so for tests', async () => {
    expect(
      await principalsFor('jump', jumpbox('127.0.0.1:2222'), ['--test-allow-loopback-routes']),
    ).toContain(',permitopen="127.0.0.1:2222",');
    expect(await principalsFor('jump', jumpbox('169.254.169.254:80'), ['--test-allow-loopback-routes'])).toBe(
      '',
    );
  });
});

function resolvesToLoopback(name: string): boolean {
  try {
    const addresses = execFileSync('getent', ['ahosts', name], { encoding: 'utf8' });
    return /^(127\.|::1\s)/m.test(addresses) && !/^localhost/.test(name);
  } catch {
    return false;
  }
}
