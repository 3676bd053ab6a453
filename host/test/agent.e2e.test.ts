/**
 * The host agent end to end on this machine: a bare host (an sshd_config, nothing else) under a
 * temporary root, the local stack's CA, an IMDS stand-in serving the instance role's credentials,
 * and a real sshd started on what the agent wrote. Host certificate, a user login with an lkp
 * certificate, idempotence, renewal, and a CA that cannot be reached (the old configuration stays).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { knownHostsLine, type SshLogin } from '../../client/lib/ssh-args.js';
import { parseCertificate } from '../../src/cert/index.js';
import { startAgentInstance, type AgentInstance, type AgentRun } from '../../src/local/host-agent.js';
import { requestUserCertificate, trySsh } from '../../src/local/instance.js';
import { findSshd, generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { freePort, type Sshd } from '../../src/local/sshd.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import type { InfoResponse } from '../../src/protocol.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const loginUser = userInfo().username;
const MARKER = 'lkp-agent-ok';
/** sshd checks that every folder above the principals command is root-owned and not writable by others: /tmp fails, /run passes. */
const asRoot = process.getuid?.() === 0 && findSshd() !== undefined;

let stack: LocalStack;
let host: AgentInstance;
let info: InfoResponse;
let root: string;
let sshd: Sshd;
let userKey: KeyPair;
let firstRun: AgentRun;

const at = (path: string) => join(root, path);
const run = (env: Record<string, string> = {}) => host.runAgent(undefined, env);
const hostCertificateRequests = () =>
  stack
    .caOutput()
    .split('\n')
    .filter((l) => l.includes('"decision":"allow"') && l.includes('"kind":"Host"')).length;
const certificate = () =>
  parseCertificate(readFileSync(at('etc/ssh/ssh_host_ed25519_key-cert.pub'), 'utf8').trim());

describe.skipIf(!asRoot)('lkp-host-agent on a bare host with a real sshd', () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    info = await fetchCaInfo(stack.caUrl);
    host = await startAgentInstance(stack);
    root = host.root;
    firstRun = await run();
    sshd = await host.startSshd();
    userKey = await generateKeyPair(stack.dir, 'id_ed25519');
    writeFileSync(join(stack.dir, 'known_hosts'), `${knownHostsLine(info.CaPublicKeys[0] ?? '')}\n`);
  });

  afterAll(async () => {
    await host?.close();
    await stack?.close();
  });

  const login = (certificatePath: string): SshLogin => ({
    user: loginUser,
    host: '127.0.0.1',
    port: sshd.port,
    keyPath: userKey.privatePath,
    certificatePath,
    knownHostsPath: join(stack.dir, 'known_hosts'),
    hostKeyAlias: LOCAL_INSTANCE_ARN,
  });

  it('gets a host certificate for the instance and the names EC2 confirms, with the role from IMDS', () => {
    expect(firstRun.stderr).toMatch(/requesting a host certificate .* \(no host certificate yet\)/);
    expect(firstRun.code).toBe(0);
    const cert = certificate();
    expect(cert.kind).toBe('host');
    expect(cert.principals.sort()).toEqual([LOCAL_INSTANCE_ARN, '127.0.0.1', 'localhost'].sort());
    expect(readFileSync(at('etc/ssh/lkp_trusted_user_ca_keys'), 'utf8')).toBe(
      `${info.CaPublicKeys.join('\n')}\n`,
    );
    const dropIn = readFileSync(at('etc/ssh/sshd_config.d/50-lkp.conf'), 'utf8');
    expect(dropIn).toContain(`HostCertificate ${root}/etc/ssh/ssh_host_ed25519_key-cert.pub`);
    expect(dropIn).toContain(
      `AuthorizedPrincipalsCommand ${root}/usr/local/sbin/lkp-host-agent principals ${LOCAL_INSTANCE_ARN} %u %t %k`,
    );
    expect(statSync(at('usr/local/sbin/lkp-host-agent')).mode & 0o777).toBe(0o755);
    // No systemd under the temporary root: the cron fallback, naming the agent at its live path.
    expect(readFileSync(at('etc/cron.d/lkp-host-renew'), 'utf8')).toContain(
      `\n@reboot root /usr/local/sbin/lkp-host-agent run --ca ${stack.caUrl}\n`,
    );
  });

  it('lets a user in with a certificate for <user>@<instance ARN>, presenting the host certificate', async () => {
    const { certificatePath } = await requestUserCertificate(stack, info, userKey, loginUser);
    const outcome = await trySsh(login(certificatePath), ['echo', MARKER]);
    expect(outcome.stderr).not.toMatch(/WARNING|Host key verification failed/);
    expect(outcome).toMatchObject({ ok: true, stdout: `${MARKER}\n` });
  });

  it('refuses a certificate for another login on the same instance', async () => {
    const other = join(stack.dir, 'ec2-user-cert.pub');
    const { certificatePath } = await requestUserCertificate(stack, info, userKey, 'ec2-user', other);
    const outcome = await trySsh(login(certificatePath), ['echo', MARKER]);
    expect(outcome).toMatchObject({ ok: false, stderr: expect.stringMatching(/Permission denied/) });
  });

  it('changes nothing and asks the CA for no certificate on a second run', async () => {
    const before = { requests: hostCertificateRequests(), cert: certificate().serial };
    const second = await run();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('unchanged: nothing to do');
    expect(second.stderr).not.toMatch(/^wrote /m);
    expect(hostCertificateRequests()).toBe(before.requests);
    expect(certificate().serial).toBe(before.cert);
  });

  it('renews the certificate once two thirds of its lifetime have passed', async () => {
    const old = certificate();
    const twoThirds = old.validAfter + Math.ceil(((old.validBefore - old.validAfter) * 2) / 3);
    const early = await run({ LKP_HOST_TEST_NOW: String(twoThirds - 60) });
    expect(early.stderr).toContain('unchanged: nothing to do');
    const renewed = await run({ LKP_HOST_TEST_NOW: String(twoThirds) });
    expect(renewed.stderr).toMatch(
      /requesting a host certificate .* \(two thirds of its lifetime have passed/,
    );
    expect(renewed.code).toBe(0);
    expect(certificate().serial).not.toBe(old.serial);
  });

  it('keeps the last good configuration when the CA cannot be reached', async () => {
    const files = [
      'etc/ssh/ssh_host_ed25519_key-cert.pub',
      'etc/ssh/sshd_config.d/50-lkp.conf',
      'etc/ssh/lkp_trusted_user_ca_keys',
      'etc/cron.d/lkp-host-renew',
    ];
    const before = files.map((f) => readFileSync(at(f), 'utf8'));
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await host.runAgent(['run', '--ca', closed, '--no-reload'], {
      LKP_HOST_TEST_NOW: String(certificate().validBefore),
    });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain(`could not reach the CA at ${closed}`);
    expect(down.stderr).toContain('the current configuration stays as it is');
    expect(files.map((f) => readFileSync(at(f), 'utf8'))).toEqual(before);
    const { certificatePath } = await requestUserCertificate(stack, info, userKey, loginUser);
    expect(await trySsh(login(certificatePath), ['echo', MARKER])).toMatchObject({ ok: true });
  });
});
