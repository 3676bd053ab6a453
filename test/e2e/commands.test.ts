/** The commands a person runs, as built: `lkp-ca serve` and `lkp` (`npm start`: local-stack.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCertificate, generateKeyPair } from '../../src/local/openssh.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { clientEnv } from '../helpers/client-env.js';
import { LKP_CLI, runNode } from '../helpers/run-node.js';

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
      'LKP_ALLOW',
      'AWS_ENDPOINT_URL_STS',
      'LKP_USER_CERT_TTL',
    ])
      expect(stdout).toContain(name);
  });
});

describe('lkp (client CLI) against the local stack', () => {
  let stack: LocalStack;
  let env: Record<string, string>;
  beforeAll(async () => {
    stack = await startLocalStack();
    env = clientEnv(stack);
  });
  afterAll(async () => stack?.close());

  it('lkp ca prints the CA key', async () => {
    const { code, stdout } = await runNode([LKP_CLI, 'ca'], env);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ecdsa-sha2-nistp256 AAAA\S+ lkp-ca\n$/);
  });

  it('lkp cert writes a certificate that ssh-keygen accepts', async () => {
    const key = await generateKeyPair(stack.dir, 'id_cli');
    const { code, stdout } = await runNode(
      [LKP_CLI, 'cert', '--instance', LOCAL_INSTANCE_ARN, '--user', 'ec2-user', '--key', key.publicPath],
      env,
    );
    expect(code).toBe(0);
    expect(stdout).toContain(`wrote ${key.privatePath}-cert.pub`);
    const listing = await describeCertificate(`${key.privatePath}-cert.pub`);
    expect(listing).toContain(`ec2-user@${LOCAL_INSTANCE_ARN}`);
    expect(listing).toContain('user certificate');
  });

  it.each([
    ['no CA', ['ca'], { LKP_CA_URL: '' }, 2, /no CA given/],
    ['an unreachable CA', ['ca', '--ca', 'http://127.0.0.1:9'], {}, 4, /could not reach the CA/],
    [
      'a refusal',
      [
        'cert',
        '--instance',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-0123456789abcdef0',
        '--user',
        'ec2-user',
        '--key',
        'KEY',
      ],
      {},
      3,
      /the CA refused: instance .* is in account 444455556666/,
    ],
  ])('exits with a documented code on %s', async (_, args, extraEnv, exitCode, message) => {
    const key = await generateKeyPair(stack.dir, `id_${exitCode}`);
    const argv = args.map((a) => (a === 'KEY' ? key.publicPath : a));
    const { code, stderr } = await runNode([LKP_CLI, ...argv], { ...env, ...extraEnv });
    expect(stderr).toMatch(message);
    expect(code).toBe(exitCode);
  });
});
