/**
 * One profile, every command (issue 14, items 2 and 7): after `lkp setup`, lkp ca, cert, doctor,
 * vouch and close reach the profile's CA with its AWS settings and no --ca; one spelling for the
 * lkp profile (--profile) and the AWS profile (--aws-profile); unknown commands and every failure
 * under --json answer as docs/cli.md says. Runs the built lkp (dist/) in a throwaway HOME.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOCAL_INSTANCE_ARN,
  LOCAL_INSTANCE_NAME,
  LOCAL_REGION,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import { LKP_CLI, runProgram } from '../helpers/run-node.js';

const root = join(import.meta.dirname, '..', '..');

describe('lkp commands read the profile lkp setup wrote', () => {
  let stack: LocalStack;
  let home: string;
  let env: Record<string, string>;
  const lkp = (...args: string[]) =>
    runProgram(process.execPath, [LKP_CLI, ...args], { cwd: root, env, timeout: 60_000 });

  beforeAll(async () => {
    stack = await startLocalStack();
    home = mkdtempSync(join(tmpdir(), 'lkp-home-'));
    const user = stack.user.credentials;
    // No AWS_ENDPOINT_URL_STS: doctor must find the STS stand-in through the CA's Info.
    env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: user.accessKeyId,
      AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
      AWS_ENDPOINT_URL_EC2: stack.ec2.url,
    };
    const setup = await lkp('setup', '--url', stack.caUrl, '--region', LOCAL_REGION);
    expect(setup.code).toBe(0);
  });
  afterAll(async () => {
    await stack?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('lkp ca prints the CA keys of the default profile, and of --profile', async () => {
    const plain = await lkp('ca');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^ecdsa-sha2-nistp256 AAAA/);
    const named = await lkp('ca', '--profile', 'default', '--json');
    expect(JSON.parse(named.stdout)).toMatchObject({ ServerId: expect.any(String) });
  });

  it('lkp ca --help points at lkp setup for host trust, never at a global @cert-authority * line (issue 15, item 4)', async () => {
    const help = await lkp('ca', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).not.toMatch(/>>\s*~\/\.ssh\/known_hosts/);
    expect(help.stdout).toContain('lkp setup --refresh-ca');
  });

  it('lkp cert takes a Name tag, like lkp ssh, and uses the profile region and CA', async () => {
    const keyDir = mkdtempSync(join(home, 'keys-'));
    await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
    const out = await lkp(
      'cert',
      '--instance',
      `ec2-user@${LOCAL_INSTANCE_NAME}`,
      '--key',
      join(keyDir, 'id.pub'),
      '--json',
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).Principals).toEqual([`ec2-user@${LOCAL_INSTANCE_ARN}`]);
    expect(readFileSync(join(keyDir, 'id-cert.pub'), 'utf8')).toMatch(/^ssh-ed25519-cert-v01@openssh.com /);
  });

  it("lkp doctor asks the CA's advertised STS, with the profile's credentials", async () => {
    const out = await lkp('doctor', '--json');
    const checks = (JSON.parse(out.stdout) as { checks: { name: string; status: string; detail: string }[] })
      .checks;
    const byName = (n: string) => checks.find((c) => c.name === n);
    expect(byName('ca')).toMatchObject({ status: 'ok' });
    expect(byName('aws credentials')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(stack.sts.url.replace(/\/$/, '')),
    });
  });

  it('lkp vouch and lkp close need no --ca', async () => {
    const vouch = await lkp('vouch', '--for', 'bob', '--context', LOCAL_INSTANCE_ARN);
    expect(vouch.code).toBe(0);
    expect(vouch.stdout).toMatch(/^lkpv1\./);
    const close = await lkp('close', '--json');
    expect(close.code).toBe(0);
    expect(JSON.parse(close.stdout)).toEqual({ Closed: 0 });
  });

  it('keeps --profile-name as an old spelling of --profile, with a notice', async () => {
    const out = await lkp('ca', '--profile-name', 'default');
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('lkp: --profile-name is now --profile; the old spelling still works for now\n');
  });

  it('says how --profile changed meaning when it names an AWS profile', async () => {
    const out = await lkp('ca', '--profile', 'work');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/no lkp profile named "work"[\s\S]*for an AWS profile use --aws-profile work/);
  });

  it('refuses unknown commands, also with --help, with exit code 2', async () => {
    for (const args of [['frob'], ['frob', '--help'], ['help', 'frob']]) {
      const out = await lkp(...args);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/^lkp: unknown command 'frob'\nhint: the commands are: setup, ssh/);
      expect(out.stdout).toBe('');
    }
  });

  it('answers every failure under --json with JSON on stdout and the documented exit code', async () => {
    const cases: [string[], number, string][] = [
      [['frob', '--json'], 2, 'Usage'],
      [['ca', '--json', '--nope'], 2, 'Usage'],
      [['ca', '--json', '--ca', 'http://127.0.0.1:1/'], 4, 'Unreachable'],
      [
        ['cert', '--json', '--instance', LOCAL_INSTANCE_ARN, '--user', 'root', '--key', '/nonexistent.pub'],
        2,
        'Usage',
      ],
    ];
    for (const [args, exitCode, code] of cases) {
      const out = await lkp(...args);
      expect(out.code, args.join(' ')).toBe(exitCode);
      expect(JSON.parse(out.stdout), args.join(' ')).toMatchObject({
        error: { code, message: expect.any(String), exitCode },
      });
    }
  });

  it("passes a denial's reason on, as JSON with --json", async () => {
    const keyDir = mkdtempSync(join(home, 'keys-'));
    await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
    // The instance's own role session: the built-in policy grants it no user certificate.
    const host = stack.host.credentials;
    const out = await runProgram(
      process.execPath,
      [LKP_CLI, 'cert', '--json', '--instance', LOCAL_INSTANCE_ARN, '--key', join(keyDir, 'id.pub')],
      {
        cwd: root,
        env: {
          ...env,
          AWS_ACCESS_KEY_ID: host.accessKeyId,
          AWS_SECRET_ACCESS_KEY: host.secretAccessKey,
          ...(host.sessionToken ? { AWS_SESSION_TOKEN: host.sessionToken } : {}),
        },
        timeout: 60_000,
      },
    );
    expect(out.code).toBe(3);
    expect(JSON.parse(out.stdout)).toMatchObject({
      error: { code: 'Forbidden', message: expect.stringMatching(/instance's role session/), exitCode: 3 },
    });
  });
});
