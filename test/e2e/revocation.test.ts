/**
 * Revocation end to end (DESIGN §8): a host set up by lkp-host-agent with a real sshd, the local
 * stack's CA with its lock table. A user logs in; an admin locks the user's ARN with `lkp lock`; after
 * the agent's per-minute KRL fetch the host refuses the very certificate that worked, the CA refuses
 * a new one and `lkp ssh` says why; `lkp unlock` restores access. The agent keeps the last good
 * list when the CA cannot be reached.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { knownHostsLine, type SshLogin } from '../../client/lib/ssh-args.js';
import { startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import { requestUserCertificate, trySsh } from '../../src/local/instance.js';
import { findSshd, generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { freePort, type Sshd } from '../../src/local/sshd.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
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
  const lkp = (who: 'admin' | 'user', ...args: string[]) => {
    const c = stack[who].credentials;
    return runProgram(process.execPath, [LKP_CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        AWS_EC2_METADATA_DISABLED: 'true',
        LKP_CA_URL: stack.caUrl,
        AWS_ACCESS_KEY_ID: c.accessKeyId,
        AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      },
      timeout: 60_000,
    });
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

  it('unlock restores access, for the old certificate and a new one', async () => {
    const unlocked = await lkp('admin', 'unlock', lock.LockId);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect((await lkp('admin', 'locks', '--json')).stdout.trim()).toBe('[]');
    expect((await fetchKrl()).code).toBe(0);
    expect(await trySsh(login(), ['echo', 'in'])).toMatchObject({ ok: true });
    ({ certificatePath } = await requestUserCertificate(stack, info, userKey, loginUser));
    expect(await trySsh(login(), ['echo', 'again'])).toMatchObject({ ok: true, stdout: 'again\n' });
  });
});
