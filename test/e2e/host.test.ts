/**
 * `lkp host` is a thin wrapper around lkp-host-agent (issue 16, one implementation): the built CLI
 * runs the agent shipped beside it with the same CA, under a temporary root with the IMDS stand-in.
 * The agent itself (login, renewal, CA down) is tested in host/test/agent.e2e.test.ts. The retired
 * user sync: its options say where accounts come from now, and the job older versions installed
 * is removed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCertificate } from '../../src/cert/index.js';
import { startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { LKP_CLI, runProgram } from '../helpers/run-node.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

/** The marker older `lkp host --iam-group` versions wrote as the first line of their sync job. */
const SYNC_MARKER = '# Written by `lkp host` (--iam-group/--sudo-group); `lkp host` without them removes it.';
const asRoot = process.getuid?.() === 0;

let stack: LocalStack;
let host: AgentInstance;

/** The built `lkp host …` with the instance's metadata stand-in, as root on the instance. */
const lkpHost = (...args: string[]) =>
  runProgram(
    process.execPath,
    [LKP_CLI, 'host', '--ca', stack.caUrl, '--root', host.root, '--no-reload', ...args],
    {
      env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_SERVICE_ENDPOINT: host.imds.url },
      timeout: 120_000,
    },
  );

describe.skipIf(!asRoot || !existsSync(LKP_CLI))('lkp host runs lkp-host-agent', () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    host = await startAgentInstance(stack);
  });
  afterAll(async () => {
    await host?.close();
    await stack?.close();
  });

  it('gets the host certificate through the agent, and a second run changes nothing', async () => {
    const first = await lkpHost();
    expect(first.stderr).toMatch(/requesting a host certificate for .* \(no host certificate yet\)/);
    expect(first.code).toBe(0);
    const cert = parseCertificate(
      readFileSync(join(host.root, 'etc/ssh/ssh_host_ed25519_key-cert.pub'), 'utf8').trim(),
    );
    expect(cert.principals).toContain(LOCAL_INSTANCE_ARN);
    const second = await lkpHost();
    expect(second).toMatchObject({ code: 0, stderr: expect.stringContaining('unchanged: nothing to do') });
  });

  it('refuses --iam-group with the way accounts work now', async () => {
    const failure = await lkpHost('--iam-group', 'developers');
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(/the CA now decides unix accounts and lkp-host-agent applies them/);
  });

  it('removes the sync job an older lkp host installed, and leaves one it did not write', async () => {
    const cron = join(host.root, 'etc/cron.d/lkp-host-sync-users');
    mkdirSync(join(host.root, 'etc/cron.d'), { recursive: true });
    writeFileSync(cron, `${SYNC_MARKER}\n*/10 * * * * root lkp host sync-users --iam-group developers\n`);
    const removed = await lkpHost();
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain('removing the user sync job of older lkp versions');
    expect(existsSync(cron)).toBe(false);

    writeFileSync(cron, '# my own job\n');
    const kept = await lkpHost();
    expect(kept.stderr).toContain(`leaving ${cron}: not written by lkp`);
    expect(existsSync(cron)).toBe(true);
  });

  it('fails with the agent’s reason when the CA cannot be reached', async () => {
    const down = await runProgram(
      process.execPath,
      [LKP_CLI, 'host', '--ca', 'http://127.0.0.1:9', '--root', host.root, '--no-reload'],
      {
        env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_SERVICE_ENDPOINT: host.imds.url },
        timeout: 120_000,
      },
    );
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain('could not reach the CA at http://127.0.0.1:9');
    expect(down.stderr).toMatch(/lkp-host-agent failed/);
  });
});
