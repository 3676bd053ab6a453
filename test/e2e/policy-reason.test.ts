/**
 * A policy's deny reason reaches the person (docs/access-policy.md, "Reason"): `lkp` as built, against
 * the local stack with a policy Lambda (in the stand-in) that allows only ec2-user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowInstanceOwnSession, definePolicy, deny } from '../../authorizers/sdk/define-policy.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { clientEnv } from '../helpers/client-env.js';
import { LKP_CLI, runNode } from '../helpers/run-node.js';

const onlyEc2User = definePolicy({
  user: (req) => (req.SshUsername === 'ec2-user' ? { Authorized: true } : deny('only ec2-user')),
  host: allowInstanceOwnSession,
});
const MESSAGE = `the CA refused: policy denied access to ${LOCAL_INSTANCE_ARN} for root: only ec2-user`;

let stack: LocalStack;
let env: Record<string, string>;
let keyPath: string;

beforeAll(async () => {
  stack = await startLocalStack({ policyModule: onlyEc2User });
  env = clientEnv(stack);
  keyPath = (await generateKeyPair(stack.dir, 'id_reason')).publicPath;
});
afterAll(async () => stack?.close());

const certArgs = (user: string) => [
  'cert',
  '--instance',
  LOCAL_INSTANCE_ARN,
  '--user',
  user,
  '--key',
  keyPath,
];

describe("a policy's deny reason, as the person sees it", () => {
  it('lkp cert prints it after the CA refusal and exits 3', async () => {
    const { code, stderr } = await runNode([LKP_CLI, ...certArgs('root')], env);
    expect(stderr).toBe(`lkp: ${MESSAGE}\n`);
    expect(code).toBe(3);
  });

  it('lkp cert --json gives it as the error message, code Forbidden', async () => {
    const { code, stdout } = await runNode([LKP_CLI, ...certArgs('root'), '--json'], env);
    expect(JSON.parse(stdout)).toEqual({ error: { code: 'Forbidden', message: MESSAGE, exitCode: 3 } });
    expect(code).toBe(3);
  });

  it('lkp ssh prints it before any connection is tried', async () => {
    expect((await runNode([LKP_CLI, 'setup', '--url', stack.caUrl], env)).code).toBe(0);
    const { code, stderr } = await runNode([LKP_CLI, 'ssh', `root@${LOCAL_INSTANCE_ARN}`], env);
    expect(stderr).toContain(`lkp: ${MESSAGE}\n`);
    expect(code).toBe(3);
  });

  it('the audit line records it, and the allowed login still works', async () => {
    expect(stack.caOutput()).toContain(
      `"reason":"policy denied access to ${LOCAL_INSTANCE_ARN} for root: only ec2-user"`,
    );
    const { code } = await runNode([LKP_CLI, ...certArgs('ec2-user')], env);
    expect(code).toBe(0);
  });
});
