/**
 * End to end through an EC2 Instance Connect Endpoint: the client sees the instance with a private
 * IP on no network of this machine and an endpoint in its subnet, so `lkp ssh`, plain ssh and scp
 * (after `lkp setup`) go through `lkp tunnel` as ProxyCommand to the EICE stand-in, which checks the
 * presigned URL like AWS and bridges to the real sshd. The host is verified by its certificate.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { runTunnel } from '../../client/lib/tunnel/connect.js';
import { presignOpenTunnel, type TunnelRequest } from '../../client/lib/tunnel/presign.js';
import { startEc2Standin, type Ec2Standin } from '../../src/local/ec2-standin.js';
import { startLocalInstance, type LocalInstance } from '../../src/local/instance.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import { freePort, startSshd, type Sshd } from '../../src/local/sshd.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_EICE,
  LOCAL_INSTANCE_ARN,
  LOCAL_PRIVATE_INSTANCES,
  LOCAL_PRIVATE_IP,
  LOCAL_REGION,
  startLocalStack,
  type LocalStack,
  userEnvironment,
} from '../../src/local/stack.js';
import { LKP_CLI, runProgram } from '../helpers/run-node.js';

const login = userInfo().username;
const INSTANCE_ID = 'i-0123456789abcdef0';

let stack: LocalStack;
let instance: LocalInstance;
let ec2: Ec2Standin;
let bare: Ec2Standin;
let impostor: Sshd | undefined;
let echo: Server;
let home: string;
let env: Record<string, string>;

const run = (file: string, args: string[], extra: Record<string, string> = {}) =>
  runProgram(file, args, { env: { ...env, ...extra }, timeout: 60_000 });
const lkp = (...args: string[]) => run(process.execPath, [LKP_CLI, ...args]);
const sshConfig = () => join(home, '.ssh', 'config');
const ssh = (...args: string[]) => run('ssh', ['-F', sshConfig(), '-o', 'BatchMode=yes', ...args]);
const routeTo = (localPort: number) =>
  stack.eice.setRoutes([{ privateIp: LOCAL_PRIVATE_IP, remotePort: 22, localPort }]);

/**
 * `lkp tunnel lkp-demo <args>` as ssh runs a ProxyCommand, until the sshd's banner arrives (then
 * the tunnel is stopped) or lkp exits.
 */
function tunnelBanner(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [LKP_CLI, 'tunnel', 'lkp-demo', '--port', '22', ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) child.kill();
    });
    child.on('close', () => resolve({ stdout, stderr }));
  });
}

/** Polls until `check` holds; a closed tunnel is seen by the stand-in a moment after ssh exits. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`not true after 10 s: ${what}`);
}

beforeAll(async () => {
  stack = await startLocalStack();
  instance = await startLocalInstance(stack, await fetchCaInfo(stack.caUrl), login);
  routeTo(instance.sshd.port);
  // What the user's credentials see in EC2: a private instance and an endpoint in its subnet.
  ec2 = await startEc2Standin({
    region: LOCAL_REGION,
    account: LOCAL_ACCOUNT,
    credentials: stack.user.credentials,
    instances: LOCAL_PRIVATE_INSTANCES,
    instanceConnectEndpoints: [LOCAL_EICE],
  });
  bare = await startEc2Standin({
    region: LOCAL_REGION,
    account: LOCAL_ACCOUNT,
    credentials: stack.user.credentials,
    instances: LOCAL_PRIVATE_INSTANCES,
  });
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  home = mkdtempSync(join(tmpdir(), 'lkp-eice-home-'));
  env = userEnvironment(stack, home, ec2.url, { LKP_EICE_URL: stack.eice.url });
  const setup = await lkp('setup', '--url', stack.caUrl, '--default-user', login);
  expect(setup.code).toBe(0);
  const strict = await lkp('setup', '--profile-name', 'strict', '--url', stack.caUrl, '--reach', 'eice');
  expect(strict.code).toBe(0);
});

afterAll(async () => {
  await impostor?.close();
  await instance?.sshd.close();
  await ec2?.close();
  await bare?.close();
  echo?.close();
  await stack?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('reaching a private instance through an EC2 Instance Connect Endpoint', () => {
  it('lkp ssh chooses the endpoint for an instance with no reachable address', async () => {
    const out = await lkp('ssh', 'lkp-demo', '--dry-run', '--json');
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.route).toEqual({
      kind: 'eice',
      endpointId: LOCAL_EICE.id,
      dnsName: LOCAL_EICE.dnsName,
      privateIp: LOCAL_PRIVATE_IP,
      region: LOCAL_REGION,
    });
    const config = readFileSync(join(home, '.lkp', 'targets', 'default', readTargetConf()), 'utf8');
    expect(config).toMatch(/^ {2}ProxyCommand '.+' '.+lkp\.cjs' 'tunnel' .*'--port' %p$/m);
    // The lkp profile under the flag every command takes (no notice on each connection).
    expect(config).toContain(`'--profile' 'default'`);
    expect(config).not.toContain('--profile-name');
    expect(config).toContain(`HostKeyAlias ${LOCAL_INSTANCE_ARN}`);
  });

  it('lkp ssh logs in through the tunnel, verified by the host certificate, and the tunnel closes with ssh', async () => {
    const before = stack.eice.events().filter((e) => e.kind === 'opened').length;
    const out = await lkp('ssh', 'lkp-demo', '--', 'echo', 'through-eice');
    expect(out.stderr).not.toMatch(/continue connecting|WARNING/);
    expect(out.stdout).toBe('through-eice\n');
    expect(out.code).toBe(0);
    const opened = stack.eice.events().filter((e) => e.kind === 'opened');
    expect(opened.length).toBe(before + 1);
    expect(opened.at(-1)).toMatchObject({ privateIp: LOCAL_PRIVATE_IP, remotePort: 22 });
    await eventually(() => stack.eice.openTunnels() === 0, 'the tunnel closed');
    // Whichever end hung up first (ssh's or sshd's), the tunnel did not outlive the session.
    expect(stack.eice.events().at(-1)).toMatchObject({ kind: 'closed', privateIp: LOCAL_PRIVATE_IP });
  });

  it('plain ssh and scp go through the tunnel after lkp setup', async () => {
    const plain = await ssh(INSTANCE_ID, 'echo', 'plain-through-eice');
    expect(plain).toMatchObject({ code: 0, stdout: 'plain-through-eice\n' });
    const local = join(home, 'upload.txt');
    writeFileSync(local, 'copied through the endpoint\n');
    const remote = join(home, 'downloaded.txt');
    const scp = await run('scp', [
      '-F',
      sshConfig(),
      '-o',
      'BatchMode=yes',
      local,
      `${INSTANCE_ID}:${remote}`,
    ]);
    expect(scp).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(remote, 'utf8')).toBe('copied through the endpoint\n');
  });

  it('a port forward works through the tunnel', async () => {
    const port = await freePort();
    const echoPort = (echo.address() as { port: number }).port;
    const child = spawn(
      'ssh',
      [
        '-F',
        sshConfig(),
        '-o',
        'BatchMode=yes',
        '-o',
        'ExitOnForwardFailure=yes',
        '-N',
        '-L',
        `${port}:127.0.0.1:${echoPort}`,
        INSTANCE_ID,
      ],
      { env, stdio: 'ignore' },
    );
    try {
      let answer = '';
      for (let i = 0; i < 200 && answer === ''; i++) {
        answer = await new Promise<string>((resolve) => {
          const socket = createConnection({ host: '127.0.0.1', port }, () =>
            socket.end('ping through the forward'),
          );
          let got = '';
          socket.on('data', (d) => (got += d.toString()));
          socket.on('close', () => resolve(got));
          socket.on('error', () => resolve(''));
        });
        if (answer === '') await new Promise((r) => setTimeout(r, 50));
      }
      expect(answer).toBe('ping through the forward');
    } finally {
      child.kill('SIGTERM');
    }
    await eventually(() => stack.eice.openTunnels() === 0, 'the forward tunnel closed after ssh exited');
  });

  it('a host without the instance certificate is refused: the host key is verified by certificate', async () => {
    const key = await generateKeyPair(stack.dir, 'impostor_host_key');
    impostor = await startSshd({
      dir: join(stack.dir, 'impostor'),
      trustedUserCaKeys: (await fetchCaInfo(stack.caUrl)).CaPublicKeys,
      hostKeyPath: key.privatePath,
      principals: { [login]: [`${login}@${LOCAL_INSTANCE_ARN}`] },
    });
    routeTo(impostor.port);
    try {
      const out = await ssh(INSTANCE_ID, 'echo', 'reached-the-impostor');
      expect(out.stdout).not.toContain('reached-the-impostor');
      expect(out.stderr).toMatch(/Host key verification failed/);
      expect(out.code).not.toBe(0);
    } finally {
      routeTo(instance.sshd.port);
    }
  });

  it('the endpoint closes the tunnel after maxTunnelDuration', async () => {
    const proxy = `'${process.execPath}' '${LKP_CLI}' tunnel ${LOCAL_INSTANCE_ARN} --endpoint-id ${LOCAL_EICE.id} --endpoint-dns ${LOCAL_EICE.dnsName} --private-ip ${LOCAL_PRIVATE_IP} --region ${LOCAL_REGION} --port %p --max-duration 1`;
    const out = await ssh('-o', `ProxyCommand=${proxy}`, INSTANCE_ID, 'sleep 30; echo outlived-the-tunnel');
    expect(out.stdout).not.toContain('outlived-the-tunnel');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/closed the tunnel: maximum tunnel duration reached/);
    expect(
      stack.eice
        .events()
        .filter((e) => e.kind === 'opened')
        .at(-1),
    ).toMatchObject({ detail: '1 s' });
    await eventually(
      () => stack.eice.events().some((e) => e.kind === 'closed' && e.detail === 'maxTunnelDuration'),
      'closed by the maximum duration',
    );
  });

  it('lkp tunnel takes --profile and --aws-profile like every command; --profile-name still works, with a notice', async () => {
    const byProfile = await tunnelBanner('--profile', 'strict');
    expect(byProfile.stdout).toMatch(/^SSH-2\.0-/);
    expect(byProfile.stderr).toBe('');
    // What ssh_config files written before the rename run.
    const old = await tunnelBanner('--profile-name', 'strict');
    expect(old.stdout).toMatch(/^SSH-2\.0-/);
    expect(old.stderr).toBe('lkp: --profile-name is now --profile; the old spelling still works for now\n');
    const unknown = await tunnelBanner('--profile', 'strict', '--aws-profile', 'lkp-no-such-profile');
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('lkp-no-such-profile');
  });

  it('with reach eice and no endpoint in the VPC, the error names the VPC', async () => {
    const out = await run(
      process.execPath,
      [LKP_CLI, 'ssh', '--profile-name', 'strict', 'lkp-demo', '--dry-run'],
      {
        AWS_ENDPOINT_URL_EC2: bare.url,
      },
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      `no EC2 Instance Connect Endpoint in ${LOCAL_EICE.vpcId} of ${LOCAL_INSTANCE_ARN}`,
    );
  });
});

describe('the EICE stand-in checks the presigned URL like AWS', () => {
  const request = (): TunnelRequest => ({
    endpointUrl: stack.eice.url,
    endpointId: LOCAL_EICE.id,
    privateIp: LOCAL_PRIVATE_IP,
    port: 22,
    region: LOCAL_REGION,
  });
  /** Opens a tunnel with a URL and reads the SSH banner, or reports how it was refused. */
  async function attempt(url: string): Promise<string> {
    const input = new PassThrough();
    const output = new PassThrough();
    let got = '';
    output.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\n')) input.end();
    });
    try {
      await runTunnel(url, { input, output }, 'the stand-in');
      return got;
    } catch (e) {
      return `refused: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  it('a valid URL reaches the sshd', async () => {
    expect(await attempt(presignOpenTunnel(request(), stack.user.credentials))).toMatch(/^SSH-2\.0-/);
  });

  it('an expired URL is refused', async () => {
    const url = presignOpenTunnel(request(), stack.user.credentials, new Date(Date.now() - 120_000));
    expect(await attempt(url)).toMatch(/^refused: .*HTTP 403: .*RequestExpired.*expired/);
  });

  it('a URL signed with a wrong secret, for another service, or changed after signing is refused', async () => {
    const wrong = { ...stack.user.credentials, secretAccessKey: 'not-the-secret' };
    expect(await attempt(presignOpenTunnel(request(), wrong))).toMatch(/HTTP 403: .*SignatureDoesNotMatch/);
    const url = presignOpenTunnel(request(), stack.user.credentials);
    const moved = url.replace(`privateIpAddress=${LOCAL_PRIVATE_IP}`, 'privateIpAddress=10.213.41.8');
    expect(await attempt(moved)).toMatch(/HTTP 403: .*SignatureDoesNotMatch/);
    const unsigned = url.replace(/&X-Amz-Signature=[0-9a-f]+/, '');
    expect(await attempt(unsigned)).toMatch(/HTTP 403/);
  });
});

function readTargetConf(): string {
  const files = readdirSync(join(home, '.lkp', 'targets', 'default')).filter((f) => f.endsWith('.conf'));
  if (files.length !== 1) throw new Error(`expected one target file, found ${files.join(', ')}`);
  return files[0] ?? '';
}
