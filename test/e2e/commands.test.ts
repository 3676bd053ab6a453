/** The commands a person runs: `lkp-ca serve` and `npm start`'s local stack, as built. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

async function runNode(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const { code, stdout = '', stderr = '' } = e as { code?: number; stdout?: string; stderr?: string };
    return { code: code ?? -1, stdout, stderr };
  }
}

describe('lkp-ca serve', () => {
  it('stops with every configuration problem named when the environment is wrong', async () => {
    const { code, stderr } = await runNode(['dist/src/cli.js', 'serve', '--port', '0'], {
      LKP_CA_KEY: 'file:/nonexistent/ca_key',
      LKP_ALLOWED_ACCOUNTS: 'abc',
      AWS_REGION: 'us-east-1',
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/LKP_SERVER_ID is required/);
    expect(stderr).toMatch(/LKP_ALLOWED_ACCOUNTS has values that are not 12-digit account ids: abc/);
  });

  it('stops with a clear message when the CA key file is missing', async () => {
    const { code, stderr } = await runNode(['dist/src/cli.js', 'serve', '--port', '0'], {
      LKP_CA_KEY: 'file:/nonexistent/ca_key',
      LKP_SERVER_ID: 'lkp-test',
      LKP_ALLOWED_ACCOUNTS: '111122223333',
      AWS_REGION: 'us-east-1',
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot read CA key file \/nonexistent\/ca_key/);
  });

  it('documents its configuration in --help', async () => {
    const { code, stdout } = await runNode(['dist/src/cli.js', 'serve', '--help']);
    expect(code).toBe(0);
    for (const name of [
      'LKP_CA_KEY',
      'LKP_SERVER_ID',
      'LKP_ALLOWED_ACCOUNTS',
      'AWS_ENDPOINT_URL_STS',
      'LKP_USER_CERT_TTL',
    ])
      expect(stdout).toContain(name);
  });
});

describe('npm start (the local stack demo)', () => {
  it('logs in to a real sshd with a certificate and shows another user refused', async () => {
    const { code, stdout, stderr } = await runNode(['dist/src/local/main.js', '--exit']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/logged in as \S+ on \S+ with an lkp certificate/);
    expect(stdout).toMatch(/refused by sshd, as it must be: .*Permission denied/);
    expect(stdout).toMatch(/Success:/);
  });
});
