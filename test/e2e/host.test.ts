/**
 * `lkp host` end to end: against the local stack and an IMDS stand-in it writes a host key,
 * certificate, CA keys, principals script and sshd drop-in under a temp root; a real sshd started
 * on that configuration then accepts exactly `<user>@<instance ARN>` through the
 * AuthorizedPrincipalsCommand, and a second run changes nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hostCommand } from '../../client/commands/host.js';
import { CliError, EXIT } from '../../client/errors.js';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { knownHostsLine, type SshLogin } from '../../client/lib/ssh-args.js';
import { parseCertificate } from '../../src/cert/index.js';
import { requestUserCertificate, trySsh } from '../../src/local/instance.js';
import { findSshd, generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { stopChild } from '../../src/local/process.js';
import { freePort, waitForBanner } from '../../src/local/sshd.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  LOCAL_INSTANCE_ID,
  LOCAL_REGION,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { InfoResponse } from '../../src/protocol.js';
import { makeAccountsRoot, readEtc } from '../helpers/accounts-root.js';
import { startImdsStandin, type ImdsStandin } from '../../src/local/imds-standin.js';
import { SYNC_MARKER } from '../../client/lib/host/sync-timer.js';

const loginUser = userInfo().username;
const MARKER = 'lkp-host-ok';
/**
 * sshd runs the AuthorizedPrincipalsCommand only as root (it switches to `nobody`), and checks that
 * every folder above the script is root-owned and not writable by others: /tmp (1777) fails that,
 * so the temp root lives under /run.
 */
const asRoot = process.getuid?.() === 0 && findSshd() !== undefined;

let stack: LocalStack;
let imds: ImdsStandin;
let info: InfoResponse;
let root: string;
let sshd: ChildProcess;
let port: number;
let userKey: KeyPair;
let firstRun: string;

/** Runs `lkp host args…` in-process; resolves to its output, or rejects with its error and output. */
async function runLkpHost(args: string[]): Promise<string> {
  const output: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    output.push(String(chunk));
    return true;
  });
  try {
    await hostCommand.parseAsync(args, { from: 'user' });
  } catch (e) {
    throw Object.assign(e as Error, { output: output.join('') });
  } finally {
    write.mockRestore();
  }
  return output.join('');
}

const lkpHost = () => runLkpHost(['--ca', stack.caUrl, '--root', root, '--no-reload']);

const hostCertificateRequests = () =>
  stack
    .caOutput()
    .split('\n')
    .filter((l) => l.includes('"decision":"allow"') && l.includes('"kind":"Host"')).length;

describe.skipIf(!asRoot)('lkp host on a real sshd', () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    info = await fetchCaInfo(stack.caUrl);
    imds = await startImdsStandin({
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      instanceId: LOCAL_INSTANCE_ID,
      localIpv4: '127.0.0.1',
      localHostname: 'localhost',
    });
    root = mkdtempSync('/run/lkp-host-e2e-');
    chmodSync(root, 0o755);
    port = await freePort();
    mkdirSync(join(root, 'etc/ssh'), { recursive: true, mode: 0o755 });
    writeFileSync(join(root, 'etc/ssh/sshd_config'), sshdConfig(root, port));

    // The instance role's session, as the credential chain would find it on EC2.
    const { accessKeyId, secretAccessKey, sessionToken } = stack.host.credentials;
    vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', imds.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', sessionToken);
    vi.stubEnv('AWS_PROFILE', undefined);
    firstRun = await lkpHost();

    sshd = await startSshd(join(root, 'etc/ssh/sshd_config'), port);
    userKey = await generateKeyPair(stack.dir, 'id_ed25519');
    writeFileSync(join(stack.dir, 'known_hosts'), `${knownHostsLine(info.CaPublicKeys[0] ?? '')}\n`);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    if (sshd) await stopChild(sshd);
    await imds?.close();
    await stack?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const login = (certificatePath: string): SshLogin => ({
    user: loginUser,
    host: '127.0.0.1',
    port,
    keyPath: userKey.privatePath,
    certificatePath,
    knownHostsPath: join(stack.dir, 'known_hosts'),
    hostKeyAlias: LOCAL_INSTANCE_ARN,
  });

  it('writes a host certificate for the instance and the names EC2 confirms', () => {
    expect(firstRun).toMatch(/requesting a host certificate .* \(no host certificate yet\)/);
    const cert = parseCertificate(
      readFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key-cert.pub'), 'utf8').trim(),
    );
    expect(cert.kind).toBe('host');
    expect(cert.principals.sort()).toEqual([LOCAL_INSTANCE_ARN, '127.0.0.1', 'localhost'].sort());
    expect(readFileSync(join(root, 'etc/ssh/lkp_trusted_user_ca_keys'), 'utf8')).toBe(
      `${info.CaPublicKeys.join('\n')}\n`,
    );
    expect(statSync(join(root, 'usr/local/libexec/lkp-principals')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, 'etc/ssh/sshd_config.d/50-lkp.conf'), 'utf8')).toContain(
      `AuthorizedPrincipalsCommand ${root}/usr/local/libexec/lkp-principals %u`,
    );
    // No systemd under the temp root: the cron fallback.
    expect(readFileSync(join(root, 'etc/cron.d/lkp-host-renew'), 'utf8')).toMatch(/ root .* host --ca /);
  });

  // The certificate's only principal is <user>@<ARN>, not <user>: without the drop-in's
  // AuthorizedPrincipalsCommand sshd would compare it with the login name and refuse.
  it('accepts a user certificate for <user>@<instance ARN>, presenting the host certificate', async () => {
    const { certificatePath } = await requestUserCertificate(stack, info, userKey, loginUser);
    const outcome = await trySsh(login(certificatePath), ['echo', MARKER]);
    expect(outcome.stderr).not.toMatch(/WARNING|Host key verification failed/);
    expect(outcome).toMatchObject({ ok: true, stdout: `${MARKER}\n` });
  });

  it('refuses a user certificate for another login on the same instance', async () => {
    const { certificatePath } = await requestUserCertificate(
      stack,
      info,
      userKey,
      'ec2-user',
      join(stack.dir, 'ec2-user-cert.pub'),
    );
    const outcome = await trySsh(login(certificatePath), ['echo', MARKER]);
    expect(outcome.ok).toBe(false);
    expect(outcome.stderr).toMatch(/Permission denied/);
  });

  it('changes nothing and asks the CA for nothing on a second run', async () => {
    const certPath = join(root, 'etc/ssh/ssh_host_ed25519_key-cert.pub');
    const before = { requests: hostCertificateRequests(), cert: readFileSync(certPath, 'utf8') };
    expect(before.requests).toBe(1);
    const second = await lkpHost();
    expect(second).toContain('unchanged: nothing to do');
    expect(second).not.toMatch(/^wrote /m);
    expect(hostCertificateRequests()).toBe(before.requests);
    expect(readFileSync(certPath, 'utf8')).toBe(before.cert);
  });
});

/**
 * `lkp host --iam-group` is retired (the CA decides unix accounts, lkp-host-agent applies them):
 * it says so, and `lkp host` removes the sync job an older version installed.
 */
describe('lkp host and the retired user sync', () => {
  let syncStack: LocalStack;
  let syncImds: ImdsStandin;
  let accountsRoot: string;
  const cronFile = () => join(accountsRoot, 'etc/cron.d/lkp-host-sync-users');
  const hostWith = (...extra: string[]) =>
    runLkpHost(['--ca', syncStack.caUrl, '--root', accountsRoot, '--no-reload', ...extra]);

  beforeAll(async () => {
    syncStack = await startLocalStack();
    syncImds = await startImdsStandin({
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      instanceId: LOCAL_INSTANCE_ID,
      localIpv4: '127.0.0.1',
      localHostname: 'localhost',
    });
    const credentials = syncStack.host.credentials;
    accountsRoot = makeAccountsRoot();
    mkdirSync(join(accountsRoot, 'etc/ssh'), { recursive: true });
    mkdirSync(join(accountsRoot, 'etc/cron.d'), { recursive: true });
    writeFileSync(join(accountsRoot, 'etc/ssh/sshd_config'), 'PidFile none\n');
    vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', syncImds.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', credentials.sessionToken);
    vi.stubEnv('AWS_PROFILE', undefined);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await syncImds?.close();
    await syncStack?.close();
    if (accountsRoot) rmSync(accountsRoot, { recursive: true, force: true });
  });

  it('refuses --iam-group with the way accounts work now, and changes nothing', async () => {
    const failure = hostWith('--iam-group', 'developers');
    await expect(failure).rejects.toBeInstanceOf(CliError);
    await expect(failure).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: expect.stringMatching(/the CA now decides unix accounts and lkp-host-agent applies them/),
    });
    expect(existsSync(join(accountsRoot, 'etc/ssh/ssh_host_ed25519_key-cert.pub'))).toBe(false);
  });

  it('removes the sync job an older lkp host installed', async () => {
    writeFileSync(
      cronFile(),
      `${SYNC_MARKER}\n*/10 * * * * root lkp host sync-users --iam-group developers\n`,
    );
    const output = await hostWith();
    expect(output).toContain(`removed ${cronFile()}`);
    expect(existsSync(cronFile())).toBe(false);
    expect(readEtc(accountsRoot, 'passwd')).not.toMatch(/jane/);
  });
});

function sshdConfig(root: string, listenPort: number): string {
  return [
    `Include ${root}/etc/ssh/sshd_config.d/*.conf`,
    `ListenAddress 127.0.0.1:${listenPort}`,
    'AuthorizedKeysFile none',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'PidFile none',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

async function startSshd(configPath: string, listenPort: number): Promise<ChildProcess> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const logPath = join(root, 'sshd.log');
  const logFd = openSync(logPath, 'w');
  const child = spawn(findSshd() ?? 'sshd', ['-D', '-e', '-f', configPath], {
    stdio: ['ignore', 'ignore', logFd],
  });
  closeSync(logFd);
  await waitForBanner(listenPort, child, () => readFileSync(logPath, 'utf8'));
  return child;
}
