/** `lkp policy test`, run as shipped (dist/lkp.cjs). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LKP_CLI, repoRoot, runNode } from '../helpers/run-node.js';

const root = repoRoot;
const examples = join(root, 'authorizers', 'examples');
const requests = join(examples, 'requests');
const NIGHT = '2030-01-15T22:30:00Z';
const DAY = '2030-01-15T10:30:00Z';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lkp-policy-e2e-'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function lkp(args: string[], env: Record<string, string> = {}) {
  return runNode([LKP_CLI, ...args], env);
}

function policyFile(name: string, source: string): string {
  const file = join(work, name);
  writeFileSync(file, source);
  return file;
}

describe('lkp policy test', () => {
  it('allows the admin with the LastKeypair port (a .ts policy, bundled on the fly)', async () => {
    const { code, stdout } = await lkp([
      'policy',
      'test',
      join(examples, 'lastkeypair-port.ts'),
      join(requests, 'user-short.json'),
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^allowed: arn:aws:iam::987654321098:user\/admin@example.com as ec2-user on /);
    expect(stdout).toContain(
      'principals:       ec2-user@arn:aws:ec2:ap-southeast-2:987654321098:instance/i-0abcdef1234567890',
    );
    expect(stdout).toContain('extensions:       permit-port-forwarding, permit-pty');
  });

  it('follows --now: the support partner is allowed at night and denied by day (exit 3)', async () => {
    const policy = join(examples, 'lastkeypair-port.ts');
    const night = await lkp([
      'policy',
      'test',
      policy,
      join(requests, 'user-full.json'),
      '--now',
      NIGHT,
      '--json',
    ]);
    expect(night.code).toBe(0);
    expect(JSON.parse(night.stdout)).toMatchObject({
      Decision: 'allowed',
      Answer: { Authorized: true },
      Certificate: { Type: 'user', KeyId: 'arn:aws:sts::012345678901:assumed-role/SupportEngineer/pat' },
    });
    const day = await lkp(['policy', 'test', policy, join(requests, 'user-full.json'), '--now', DAY]);
    expect(day.code).toBe(3);
    expect(day.stdout).toMatch(
      /^denied: policy denied access to arn:aws:ec2:ap-southeast-2:987654321098:instance\/i-0abcdef1234567890 for ec2-user/,
    );
    expect(day.stderr).toContain('"reason":"no rule allows this caller here"');
  });

  it('shows the host certificate the CA would sign', async () => {
    const { code, stdout } = await lkp([
      'policy',
      'test',
      join(examples, 'lastkeypair-port.ts'),
      join(requests, 'host.json'),
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('host certificate:');
    expect(stdout).toContain(
      'key id:           arn:aws:ec2:ap-southeast-2:987654321098:instance/i-0abcdef1234567890',
    );
    expect(stdout).toMatch(/EC2 confirms .*: ip-10-0-0-5\.ap-southeast-2\.compute\.internal, 10\.0\.0\.5/);
  });

  it('counts vouchers with the two-person example, configured from the environment', async () => {
    const args = ['policy', 'test', join(examples, 'two-person.ts'), join(requests, 'user-vouched.json')];
    const env = { LKP_SENSITIVE_ARN_PREFIXES: 'arn:aws:ec2:us-east-1:111122223333:' };
    expect((await lkp(args, env)).code).toBe(0);
    expect((await lkp(args, { ...env, LKP_MIN_VOUCHERS: '3' })).code).toBe(3);
    const unconfigured = await lkp(args);
    expect(unconfigured.code).toBe(1);
    expect(unconfigured.stderr).toContain('LKP_SENSITIVE_ARN_PREFIXES is required');
  });

  it('runs a plain CommonJS .js policy and prints options, target and jumpbox certificates', async () => {
    const policy = policyFile(
      'plain.cjs',
      `exports.handler = (event, context) => ({
         Authorized: true, Principals: ['ops'], TargetAddress: '10.0.0.5',
         Jumpboxes: [{ Address: 'bastion.example.com', User: 'jump' }],
         CertificateOptions: { ForceCommand: 'uptime', PermitPty: false, PermitAgentForwarding: true, ValidForSeconds: 600 } });`,
    );
    const text = await lkp(['policy', 'test', policy, join(requests, 'user-short.json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('critical options: force-command=uptime');
    expect(text.stdout).toContain('extensions:       permit-agent-forwarding, permit-port-forwarding');
    expect(text.stdout).toContain('at most 600 s');
    expect(text.stdout).toContain('target address: 10.0.0.5');
    expect(text.stdout).toContain(
      'jumpbox jump@bastion.example.com (HostKeyAlias bastion.example.com) certificate:',
    );
    const json = await lkp(['policy', 'test', policy, join(requests, 'user-short.json'), '--json']);
    expect(JSON.parse(json.stdout).Jumpboxes).toEqual([
      expect.objectContaining({
        Principals: ['jump@bastion.example.com'],
        Extensions: ['permit-port-forwarding'],
        CriticalOptions: {
          'force-command':
            'echo lkp: this certificate only forwards connections through this jumpbox; exit 1',
        },
      }),
    ]);
  });

  it.each([
    [
      "LastKeypair's callback({ authorized: true })",
      'exports.handler = (event, context, callback) => callback({ authorized: true });',
    ],
    [
      'a correct callback handler',
      'exports.handler = (event, context, callback) => callback(null, { Authorized: true });',
    ],
    [
      'an async handler declaring a callback',
      'exports.handler = async (event, context, callback) => ({ Authorized: true });',
    ],
  ])("exits 1 for %s, with the nodejs24.x runtime's reason", async (_name, source) => {
    const policy = policyFile('callback.cjs', source);
    const { code, stdout, stderr } = await lkp(['policy', 'test', policy, join(requests, 'user-short.json')]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      "Lambda's nodejs24.x runtime refuses this handler: Runtime.CallbackHandlerDeprecated: ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24.",
    );
  });

  it('exits 1 for a malformed answer, with the CA validator message', async () => {
    const policy = policyFile(
      'empty.mjs',
      'export const handler = async () => ({ Authorized: true, Principals: [] });',
    );
    const { code, stderr } = await lkp(['policy', 'test', policy, join(requests, 'user-short.json')]);
    expect(code).toBe(1);
    expect(stderr).toContain('broken policy: policy answer: Principals is empty');
  });

  it('exits 1 for a module without a handler, and 2 for bad input', async () => {
    const noHandler = policyFile('none.mjs', 'export const answer = 1;');
    expect((await lkp(['policy', 'test', noHandler, join(requests, 'user-short.json')])).stderr).toContain(
      'exports no handler function',
    );
    const policy = join(examples, 'lastkeypair-port.ts');
    const missing = await lkp(['policy', 'test', policy, join(work, 'nope.json')]);
    expect(missing.code).toBe(2);
    const badNow = await lkp([
      'policy',
      'test',
      policy,
      join(requests, 'user-short.json'),
      '--now',
      'tomorrow',
    ]);
    expect(badNow.code).toBe(2);
    expect(badNow.stderr).toContain('--now "tomorrow" is not an ISO time');
    const badRequest = await lkp([
      'policy',
      'test',
      policy,
      policyFile('bad.json', '{"From":"alice","HostInstanceArn":"x"}'),
    ]);
    expect(badRequest.code).toBe(2);
    expect(badRequest.stderr).toContain('identity alice is not supported');
  });

  it('documents the request forms and examples in --help', async () => {
    const { code, stdout } = await lkp(['policy', 'test', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Short request form');
    expect(stdout).toContain('lkp policy test authorizers/examples/lastkeypair-port.ts');
  });
});
