/**
 * Revocation end to end (DESIGN §8): a host set up by lkp-host-agent with a real sshd, the local
 * stack's CA with its lock table. A user logs in; an admin locks the user's ARN with `lkp lock`; after
 * the agent's per-minute KRL fetch the host refuses the very certificate that worked, the CA refuses
 * a new one and `lkp ssh` says why; `lkp unlock` restores access. The agent keeps the last good
 * list when the CA cannot be reached. Clients too: a locked instance's host certificate is refused
 * by plain ssh and `lkp ssh` through `lkp setup`'s configuration (RevokedHostKeys), until unlocked.
 */
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { knownHostsLine, type SshLogin } from '../../client/lib/ssh-args.js';
import { startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import { requestUserCertificate, trySsh } from '../../src/local/instance.js';
import { findSshd, generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { freePort, type Sshd } from '../../src/local/sshd.js';
import {
  LOCAL_INSTANCE_ARN,
  LOCAL_INSTANCE_ID,
  LOCAL_REGION,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import { encodeKrl } from '../../src/krl/encode.js';
import type { Lock } from '../../src/locks/protocol.js';
import type { InfoResponse } from '../../src/protocol.js';
import { LKP_CLI, runProgram } from '../helpers/run-node.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const loginUser = userInfo().username;
const asRoot = process.getuid?.() === 0 && findSshd() !== undefined;

describe.skipIf(!asRoot)('locks reach a real sshd through the KRL', () => {
  let stack: LocalStack;
  let host: AgentInstance;
  let info: InfoResponse;
  let sshd: Sshd;
  let userKey: KeyPair;
  let certificatePath: string;
  let home: string;
  let lock: Lock;

  const krlPath = () => join(host.root, 'etc/ssh/lkp_revoked_keys.krl');
  const fetchKrl = (ca = stack.caUrl) => host.runAgent(['krl', '--ca', ca]);
  const envOf = (who: 'admin' | 'user') => {
    const c = stack[who].credentials;
    return {
      PATH: process.env.PATH ?? '',
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      LKP_CA_URL: stack.caUrl,
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL_EC2: stack.ec2.url,
    };
  };
  const lkp = (who: 'admin' | 'user', ...args: string[]) =>
    runProgram(process.execPath, [LKP_CLI, ...args], { env: envOf(who), timeout: 60_000 });
  /** `lkp ssh` to the instance by id, through the profile `lkp setup` wrote. */
  const lkpSsh = (...command: string[]) =>
    lkp('user', 'ssh', LOCAL_INSTANCE_ID, '--', '-p', String(sshd.port), ...command);
  /** Plain ssh with the user's ~/.ssh/config, as after `lkp setup`. */
  const plainSsh = (...command: string[]) =>
    runProgram(
      'ssh',
      ['-F', join(home, '.ssh', 'config'), '-p', String(sshd.port), LOCAL_INSTANCE_ID, ...command],
      { env: envOf('user'), timeout: 60_000 },
    );
  const clientKrl = () => join(home, '.lkp', 'revoked_hosts.d', 'default.krl');
  /** As if the client's list were fetched a minute ago: the next login asks the CA again. */
  const ageClientKrl = () => {
    const past = new Date(Date.now() - 120_000);
    utimesSync(clientKrl(), past, past);
  };
  const login = (): SshLogin => ({
    user: loginUser,
    host: '127.0.0.1',
    port: sshd.port,
    keyPath: userKey.privatePath,
    certificatePath,
    knownHostsPath: join(stack.dir, 'known_hosts'),
    hostKeyAlias: LOCAL_INSTANCE_ARN,
  });

  beforeAll(async () => {
    stack = await startLocalStack();
    info = await fetchCaInfo(stack.caUrl);
    host = await startAgentInstance(stack);
    const setup = await host.runAgent();
    expect(setup.code, setup.stderr).toBe(0);
    sshd = await host.startSshd();
    userKey = await generateKeyPair(stack.dir, 'id_ed25519');
    writeFileSync(join(stack.dir, 'known_hosts'), `${knownHostsLine(info.CaPublicKeys[0] ?? '')}\n`);
    home = mkdtempSync(join(tmpdir(), 'lkp-revocation-home-'));
  });

  afterAll(async () => {
    await host?.close();
    await stack?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('the agent installs the KRL, names it in RevokedKeys and fetches it every minute', () => {
    expect(readFileSync(krlPath()).subarray(0, 8)).toEqual(Buffer.from('SSHKRL\n\0', 'latin1'));
    expect(statSync(krlPath()).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(host.root, 'etc/ssh/sshd_config.d/50-lkp.conf'), 'utf8')).toContain(
      `RevokedKeys ${krlPath()}`,
    );
    expect(readFileSync(join(host.root, 'etc/cron.d/lkp-host-krl'), 'utf8')).toContain(
      `\n* * * * * root /usr/local/sbin/lkp-host-agent krl --ca ${stack.caUrl}\n`,
    );
  });

  it('a user logs in', async () => {
    ({ certificatePath } = await requestUserCertificate(stack, info, userKey, loginUser));
    expect(await trySsh(login(), ['echo', 'in'])).toMatchObject({ ok: true, stdout: 'in\n' });
  });

  it('lkp setup fetches the host revocation list; lkp ssh and plain ssh name it', async () => {
    const setup = await lkp('user', 'setup', '--url', stack.caUrl, '--default-user', loginUser);
    expect(setup.code, setup.stderr).toBe(0);
    expect(setup.stdout).toContain(`host revocation list: ${clientKrl()}`);
    expect(execFileSync('ssh-keygen', ['-Q', '-l', '-f', clientKrl()], { encoding: 'utf8' })).toMatch(
      /^# KRL version \d+/,
    );
    const viaLkp = await lkpSsh('echo', 'in');
    expect(viaLkp.stdout, viaLkp.stderr).toBe('in\n');
    expect(await plainSsh('echo', 'plain')).toMatchObject({ code: 0, stdout: 'plain\n' });
    const config = await runProgram('ssh', ['-G', '-F', join(home, '.ssh', 'config'), LOCAL_INSTANCE_ID], {
      env: envOf('user'),
      timeout: 60_000,
    });
    expect(config.stdout).toContain(`\nrevokedhostkeys ${clientKrl()}\n`);
  });

  it('the user may not lock; an admin locks the user’s ARN', async () => {
    const denied = await lkp('user', 'lock', '--caller', stack.user.arn, '--reason', 'self-service');
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/not an lkp admin/);

    const locked = await lkp(
      'admin',
      'lock',
      '--caller',
      stack.user.arn,
      '--reason',
      'laptop stolen',
      '--json',
    );
    expect(locked.code, locked.stderr).toBe(0);
    lock = JSON.parse(locked.stdout) as Lock;
    expect(lock).toMatchObject({ Type: 'Caller', Value: stack.user.arn, Reason: 'laptop stolen' });
    const listed = await lkp('admin', 'locks');
    expect(listed.stdout).toContain(lock.LockId);
    expect(listed.stdout).toContain('laptop stolen');
  });

  it('after the KRL fetch the host refuses the same certificate', async () => {
    const fetched = await fetchKrl();
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stderr).toMatch(/revocation list: installed/);
    const outcome = await trySsh(login(), ['echo', 'in']);
    expect(outcome).toMatchObject({ ok: false, stderr: expect.stringMatching(/Permission denied/) });
    expect(sshd.log()).toMatch(/revoked/i);
  });

  it('lkp ssh with its cached certificate is refused too, and says why', async () => {
    const refused = await lkpSsh('echo', 'in');
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/Permission denied/);
    expect(refused.stderr).toContain(
      `lkp: the CA refused: Caller ${stack.user.arn} is locked (${lock.LockId}, until unlocked): laptop stolen`,
    );
    expect(refused.code).toBe(3);
  });

  it('the CA refuses a new certificate, and lkp says why', async () => {
    await expect(requestUserCertificate(stack, info, userKey, loginUser)).rejects.toThrow(/is locked/);
    const cert = await lkp(
      'user',
      'cert',
      '--instance',
      LOCAL_INSTANCE_ARN,
      '--user',
      loginUser,
      '--key',
      userKey.publicPath,
    );
    expect(cert.code).toBe(3);
    expect(cert.stderr).toContain(
      `Caller ${stack.user.arn} is locked (${lock.LockId}, until unlocked): laptop stolen`,
    );
  });

  it('keeps the last good list when the CA cannot be reached', async () => {
    const before = readFileSync(krlPath());
    const down = await fetchKrl(`http://127.0.0.1:${await freePort()}`);
    expect(down.code).not.toBe(0);
    expect(readFileSync(krlPath())).toEqual(before);
  });

  it('installs a list too big for the old 1 MiB cap: 120,000 revoked serials', async () => {
    const caKey = Buffer.from(info.CaPublicKeys[0]!.split(' ')[1]!, 'base64');
    const serials = Array.from({ length: 120_000 }, (_, i) => BigInt(i) * 7919n + 1n);
    const big = encodeKrl({ version: 1n, generatedAt: 0, certificates: [{ caKey, serials }] });
    // The stack's CA, except that Krl requests get the big list.
    const front = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if ((JSON.parse(body.toString()) as { Kind?: string }).Kind === 'Krl') {
          // A field whose value is the key's name, before the key: the agent counts keys, not words.
          const answer = JSON.stringify({ Note: 'Krl', Krl: big.toString('base64'), GeneratedAt: 0 });
          // With its length, as Lambda sends it: curl enforces --max-filesize on a known length.
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(answer),
          });
          res.end(answer);
          return;
        }
        void fetch(stack.caUrl, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        }).then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      expect(big.toString('base64').length).toBeGreaterThan(1024 * 1024);
      const fetched = await fetchKrl(`http://127.0.0.1:${(front.address() as AddressInfo).port}`);
      expect(fetched.code, fetched.stderr).toBe(0);
      expect(readFileSync(krlPath())).toEqual(big);
    } finally {
      await new Promise((resolve) => front.close(resolve));
      // Back to the CA's own list for the tests that follow.
      expect((await fetchKrl()).code).toBe(0);
    }
  });

  it('unlock restores access, for the old certificate and a new one', async () => {
    const unlocked = await lkp('admin', 'unlock', lock.LockId);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect((await lkp('admin', 'locks', '--json')).stdout.trim()).toBe('[]');
    expect((await fetchKrl()).code).toBe(0);
    expect(await trySsh(login(), ['echo', 'in'])).toMatchObject({ ok: true });
    ({ certificatePath } = await requestUserCertificate(stack, info, userKey, loginUser));
    expect(await trySsh(login(), ['echo', 'again'])).toMatchObject({ ok: true, stdout: 'again\n' });
    expect(await lkpSsh('echo', 'lkp')).toMatchObject({ code: 0, stdout: 'lkp\n' });
  });

  it('a locked instance: plain ssh and lkp ssh refuse its host certificate, and lkp says why', async () => {
    const locked = await lkp(
      'admin',
      'lock',
      '--instance',
      LOCAL_INSTANCE_ID,
      '--reason',
      'compromised',
      '--json',
    );
    expect(locked.code, locked.stderr).toBe(0);
    lock = JSON.parse(locked.stdout) as Lock;
    expect(lock).toMatchObject({ Type: 'Instance', Value: LOCAL_INSTANCE_ARN });
    // The next login finds the client's list a minute old and fetches it, with the instance in it.
    ageClientKrl();
    const plain = await plainSsh('echo', 'plain');
    expect(plain.stdout).toBe('');
    expect(plain.code).toBe(255);
    expect(plain.stderr).toMatch(/revoked/i);
    const viaLkp = await lkpSsh('echo', 'in');
    expect(viaLkp.stdout).toBe('');
    expect(viaLkp.stderr).toMatch(/revoked/i);
    expect(viaLkp.stderr).toContain(
      `lkp: the CA refused: Instance ${LOCAL_INSTANCE_ARN} is locked (${lock.LockId}, until unlocked): compromised`,
    );
    expect(viaLkp.code).toBe(3);
  });

  it('unlocking the instance lets both in again', async () => {
    const unlocked = await lkp('admin', 'unlock', lock.LockId);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    ageClientKrl();
    expect(await plainSsh('echo', 'plain')).toMatchObject({ code: 0, stdout: 'plain\n' });
    expect(await lkpSsh('echo', 'in')).toMatchObject({ code: 0, stdout: 'in\n' });
  });
});
