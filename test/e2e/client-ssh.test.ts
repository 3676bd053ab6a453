/**
 * `lkp setup`, `lkp ssh` and transparent ssh against the local stack and a real sshd, as built
 * (dist/), with HOME in a temp folder. EC2 lookups go to a stand-in that accepts the user's keys.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEc2Standin, type Ec2Standin } from '../../src/local/ec2-standin.js';
import { startLocalInstance, type LocalInstance } from '../../src/local/instance.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  LOCAL_INSTANCES,
  LOCAL_REGION,
  startLocalStack,
  type LocalStack,
  userEnvironment,
} from '../../src/local/stack.js';
import type { InfoResponse } from '../../src/protocol.js';
import { LKP_CLI, runProgram } from '../helpers/run-node.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const login = (process.env.USER ?? '') || (await run('id', ['-un'])).stdout.trim();

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const exec = (file: string, args: string[], env: Record<string, string>) =>
  runProgram(file, args, { cwd: root, env, timeout: 60_000 });

describe('lkp setup, lkp ssh and transparent ssh', () => {
  let stack: LocalStack;
  let instance: LocalInstance;
  let ec2: Ec2Standin;
  let home: string;
  let env: Record<string, string>;
  const lkp = (...args: string[]) => exec(process.execPath, [LKP_CLI, ...args], env);
  const setupArgs = () => ['setup', '--url', stack.caUrl, '--host-pattern', 'lkp-*', '--default-user', login];
  const certificateRequests = () =>
    stack
      .caOutput()
      .split('\n')
      .filter((l) => l.includes('"allow"') && l.includes(`${login}@${LOCAL_INSTANCE_ARN}`)).length;

  beforeAll(async () => {
    stack = await startLocalStack();
    const info = await (await fetch(stack.caUrl, { method: 'POST', body: '{"Kind":"Info"}' })).json();
    instance = await startLocalInstance(stack, info as InfoResponse, login);
    const user = stack.user.credentials;
    ec2 = await startEc2Standin({
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      credentials: user,
      instances: [
        ...LOCAL_INSTANCES,
        { instanceId: 'i-0aaaaaaaaaaaaaaa1', privateIp: '10.0.0.1', tags: { Name: 'twin' } },
        { instanceId: 'i-0aaaaaaaaaaaaaaa2', privateIp: '10.0.0.2', tags: { Name: 'twin' } },
      ],
    });
    home = mkdtempSync(join(tmpdir(), 'lkp-home-'));
    env = userEnvironment(stack, home, ec2.url);

    const setup = await lkp(...setupArgs());
    expect(setup.stderr).toBe('');
    expect(setup.code).toBe(0);
  });

  afterAll(async () => {
    await instance?.sshd.close();
    await ec2?.close();
    await stack?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('lkp setup writes the config, known_hosts and one Include line, idempotently', async () => {
    const config = JSON.parse(readFileSync(join(home, '.lkp', 'config'), 'utf8'));
    expect(config.default).toBe('default');
    expect(config.profiles.default.ca).toEqual({ url: stack.caUrl });
    expect(readFileSync(join(home, '.lkp', 'known_hosts.d', 'default'), 'utf8')).toMatch(
      /^@cert-authority \* ecdsa-sha2-nistp256 AAAA\S+ lkp-ca\n$/,
    );
    const again = await lkp(...setupArgs());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already includes lkp');
    const sshConfig = readFileSync(join(home, '.ssh', 'config'), 'utf8');
    expect(sshConfig.match(/^Include /gm)).toHaveLength(1);
  });

  it('lkp ssh logs in by Name tag, then reuses the cached certificate', async () => {
    const before = certificateRequests();
    const first = await lkp('ssh', `${login}@lkp-demo`, '--', '-p', String(instance.sshd.port), 'echo', 'ok');
    // Nothing on stderr: no progress (not a terminal), no host key prompt, no ssh warning, no AWS SDK notice.
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('ok\n');
    expect(first.code).toBe(0);
    expect(certificateRequests()).toBe(before + 1);

    const second = await lkp(
      'ssh',
      `${login}@lkp-demo`,
      '--',
      '-p',
      String(instance.sshd.port),
      'echo',
      'again',
    );
    expect(second.stdout).toBe('again\n');
    expect(second.code).toBe(0);
    expect(certificateRequests()).toBe(before + 1);
  });

  it('shows its slow steps on a terminal only, and never with --json', async () => {
    // script(1) runs lkp on a pseudo-terminal; a user not asked for yet makes both steps happen.
    const onTerminal = (...args: string[]) =>
      exec(
        'script',
        ['-qec', [process.execPath, LKP_CLI, ...args].map(shellQuote).join(' '), '/dev/null'],
        env,
      );
    const shown = await onTerminal('ssh', '--dry-run', 'progress-a@lkp-demo');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('lkp: looking up lkp-demo in EC2...\r\x1b[K');
    expect(shown.stdout).toMatch(
      /lkp: requesting a certificate for progress-a@arn:\S+ from \S+\.\.\.\r\x1b\[K/,
    );
    const json = await onTerminal('ssh', '--dry-run', '--json', 'progress-b@lkp-demo');
    expect(json.code).toBe(0);
    expect(json.stdout).not.toContain('lkp: ');
    expect(json.stdout).not.toContain('\x1b[K');
  });

  it('a login with a cached certificate loads no AWS SDK module (it makes no AWS call)', async () => {
    // Every module require()d by name is reported; the SDK's are what a cached login must not pay for.
    const hook = join(home, 'report-requires.cjs');
    writeFileSync(
      hook,
      `const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (/^@(aws-sdk|smithy)\\//.test(request)) process.stderr.write('loaded ' + request + '\\n');
  return load.call(this, request, ...rest);
};
`,
    );
    const dryRun = () =>
      exec(
        process.execPath,
        [
          '--require',
          hook,
          LKP_CLI,
          'ssh',
          `${login}@lkp-demo`,
          '--dry-run',
          '--',
          '-p',
          String(instance.sshd.port),
        ],
        env,
      );
    const cached = await dryRun();
    expect(cached.code).toBe(0);
    expect(cached.stderr).not.toContain('loaded ');
    // The hook itself works: without the cached certificate the same command loads the credential chain.
    rmSync(join(home, '.lkp', 'certs'), { recursive: true, force: true });
    const fresh = await dryRun();
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).toContain('loaded @aws-sdk/credential-providers');
  });

  it('passes the remote command exit code through', async () => {
    const out = await lkp(
      'ssh',
      `${login}@i-0123456789abcdef0`,
      '--',
      '-p',
      String(instance.sshd.port),
      'exit 7',
    );
    expect(out.code).toBe(7);
  });

  it('--dry-run prints the ssh command and the certificate without connecting', async () => {
    const out = await lkp('ssh', 'lkp-demo', '--dry-run', '--json');
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.command[0]).toBe('ssh');
    expect(report.command).toContain('lkp-demo');
    expect(report.target).toEqual({
      host: 'lkp-demo',
      arn: LOCAL_INSTANCE_ARN,
      address: '127.0.0.1',
      user: login,
    });
    expect(report.certificate.principals).toEqual([`${login}@${LOCAL_INSTANCE_ARN}`]);
    expect(report.certificate.serial).toMatch(/^[1-9]\d*$/);
    const text = await lkp('ssh', 'lkp-demo', '--dry-run');
    expect(text.stdout).toMatch(/^ssh -F \S+\.conf -l \S+ lkp-demo\n/);
    expect(text.stdout).toContain(`principals: ${login}@${LOCAL_INSTANCE_ARN}`);
  });

  it('lists the instances when a Name tag is ambiguous and names the region when unknown', async () => {
    const twin = await lkp('ssh', 'twin', '--dry-run');
    expect(twin.code).toBe(2);
    expect(twin.stderr).toMatch(/2 running instances are named "twin" in us-east-1/);
    expect(twin.stderr).toContain('i-0aaaaaaaaaaaaaaa1  10.0.0.1');
    expect(twin.stderr).toContain('i-0aaaaaaaaaaaaaaa2  10.0.0.2');
    const none = await lkp('ssh', 'nosuch', '--dry-run');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no running instance named "nosuch" in us-east-1/);
  });

  it('plain ssh and scp work through the transparent config', async () => {
    const config = join(home, '.ssh', 'config');
    const port = String(instance.sshd.port);
    const ssh = await exec('ssh', ['-F', config, '-p', port, 'i-0123456789abcdef0', 'echo', 'plain'], env);
    expect(ssh.stderr).not.toMatch(/continue connecting|WARNING/);
    expect(ssh.stdout).toBe('plain\n');
    expect(ssh.code).toBe(0);

    const local = join(home, 'upload.txt');
    writeFileSync(local, 'copied by scp\n');
    const remote = join(home, 'downloaded.txt');
    const scp = await exec('scp', ['-F', config, '-P', port, local, `${login}@lkp-demo:${remote}`], env);
    expect(scp.stderr).toBe('');
    expect(scp.code).toBe(0);
    expect(readFileSync(remote, 'utf8')).toBe('copied by scp\n');
  });

  it('leaves other hosts alone: no Match for them, and an unknown instance is not matched', async () => {
    const config = join(home, '.ssh', 'config');
    const other = await exec('ssh', ['-G', '-F', config, 'example.org'], env);
    expect(other.stdout).toMatch(/^hostname example\.org$/m);
    expect(other.stdout).not.toMatch(/^hostkeyalias /m);
    const unknown = await exec('ssh', ['-G', '-F', config, 'i-0bbbbbbbbbbbbbbb1'], env);
    expect(unknown.stdout).toMatch(/^hostname i-0bbbbbbbbbbbbbbb1$/m);
    expect(unknown.stderr).toMatch(/lkp: instance i-0bbbbbbbbbbbbbbb1 was not found in us-east-1/);
  });

  it('keeps the key in the ssh-agent when one runs, writing no private key', async () => {
    const socket = join(home, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
      const withAgent = { ...env, SSH_AUTH_SOCK: socket };
      const out = await exec(
        process.execPath,
        [LKP_CLI, 'ssh', 'lkp-demo', '--', '-p', String(instance.sshd.port), 'echo', 'agent'],
        withAgent,
      );
      expect(out.stdout).toBe('agent\n');
      const pub = readFileSync(join(home, '.lkp', 'keys', 'default', 'agent_id_ed25519.pub'), 'utf8');
      const listed = await exec('ssh-add', ['-L'], withAgent);
      expect(listed.stdout).toContain(pub.split(' ')[1]);
      expect(existsSync(join(home, '.lkp', 'keys', 'default', 'agent_id_ed25519'))).toBe(false);
      // Again: lkp finds its key in the agent (asked over the socket) and reuses the certificate.
      const requests = certificateRequests();
      const again = await exec(
        process.execPath,
        [LKP_CLI, 'ssh', 'lkp-demo', '--', '-p', String(instance.sshd.port), 'echo', 'again'],
        withAgent,
      );
      expect(again.stdout).toBe('again\n');
      expect(certificateRequests()).toBe(requests);
    } finally {
      agent.kill();
    }
  });

  it('refuses a catch-all --host-pattern and writes nothing', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'lkp-home-'));
    try {
      for (const pattern of ['*', '*.com']) {
        const out = await exec(
          process.execPath,
          [LKP_CLI, 'setup', '--url', stack.caUrl, '--host-pattern', pattern],
          { ...env, HOME: fresh },
        );
        expect(out.code).toBe(2);
        expect(out.stderr).toContain(`refusing --host-pattern "${pattern}": it begins with a wildcard`);
        expect(readdirSync(fresh)).toEqual([]);
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("trusts each profile's CA for that profile only: a host certificate from the other CA fails", async () => {
    // A second CA ("dev") with its own key, and an sshd whose host certificate it signed for the
    // very instance ARN the default profile's hosts have (issue 15, item 4).
    const dev = await startLocalStack();
    try {
      const devInfo = (await (
        await fetch(dev.caUrl, { method: 'POST', body: '{"Kind":"Info"}' })
      ).json()) as InfoResponse;
      const impostor = await startLocalInstance(dev, devInfo, login);
      try {
        const setupDev = await lkp(
          'setup',
          '--profile',
          'dev',
          '--url',
          dev.caUrl,
          '--host-pattern',
          'dev-*',
        );
        expect(setupDev.code).toBe(0);
        expect(setupDev.stdout).toContain(devInfo.CaPublicKeys[0] ?? 'no key');
        expect(readFileSync(join(home, '.lkp', 'known_hosts.d', 'dev'), 'utf8')).toContain(
          devInfo.CaPublicKeys[0] ?? 'no key',
        );
        const through = (port: number) =>
          lkp('ssh', `${login}@lkp-demo`, '--', '-p', String(port), 'echo', 'reached');
        const genuine = await through(instance.sshd.port);
        expect(genuine.stdout).toBe('reached\n');
        const forged = await through(impostor.sshd.port);
        expect(forged.stdout).toBe('');
        expect(forged.code).not.toBe(0);
        expect(forged.stderr).toMatch(/Host key verification failed/);
        // The explicit way to trust a CA's keys again shows them with their fingerprints.
        const refresh = await lkp('setup', '--profile', 'dev', '--refresh-ca');
        expect(refresh.code).toBe(0);
        expect(refresh.stdout).toMatch(/^ {2}SHA256:\S{43} {2}ecdsa-sha2-nistp256 AAAA/m);
        const changed = await lkp('setup', '--profile', 'dev', '--refresh-ca', '--host-pattern', 'x-*');
        expect(changed.stderr).toContain('--refresh-ca keeps the profile as it is');
      } finally {
        await impostor.sshd.close();
        await lkp('setup', '--uninstall', '--profile', 'dev');
      }
    } finally {
      await dev.close();
    }
  }, 120_000);

  it('lkp setup --uninstall removes what it added', async () => {
    const out = await lkp('setup', '--uninstall');
    expect(out.code).toBe(0);
    expect(readFileSync(join(home, '.ssh', 'config'), 'utf8')).toBe('');
    for (const f of ['config', 'ssh_config', 'known_hosts', 'known_hosts.d', 'revoked_hosts.d'])
      expect(existsSync(join(home, '.lkp', f))).toBe(false);
    expect(existsSync(join(home, '.lkp', 'keys', 'default', 'id_ed25519'))).toBe(true);
  });
});
