/**
 * The host agent's edges on a bare host under a temporary root: malformed instance metadata (it
 * fails closed and changes nothing, on a configured host as on a bare one), `status` (what is
 * installed and whether the certificate is valid) and `uninstall` (everything it wrote goes; the
 * host key and the original sshd_config stay).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCertificate } from '../../src/cert/index.js';
import { localInstanceMetadata, startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import { startImdsStandin, type ImdsInstance } from '../../src/local/imds-standin.js';
import { findSshd } from '../../src/local/openssh.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  LOCAL_INSTANCE_ID,
  LOCAL_INSTANCE_ROLE,
  LOCAL_REGION,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const asRoot = process.getuid?.() === 0 && findSshd() !== undefined;
const IDENTITY = '/latest/dynamic/instance-identity/document';
const CREDENTIALS = `/latest/meta-data/iam/security-credentials/${LOCAL_INSTANCE_ROLE.roleName}`;

let stack: LocalStack;
let configured: AgentInstance;
let bare: AgentInstance;
let validBefore: number;

/** Every file under the root with its content (sshd's own log aside). */
function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, 'latin1');
    }
  };
  walk(root);
  return files;
}

const identity = (fields: Record<string, string>) =>
  JSON.stringify({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    instanceId: LOCAL_INSTANCE_ID,
    ...fields,
  });
const credentials = (fields: Record<string, string>) => {
  const c = stack.host.credentials;
  return JSON.stringify({
    Code: 'Success',
    Type: 'AWS-HMAC',
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken ?? '',
    ...fields,
  });
};

/** [what, the metadata's changes, the agent's message] */
const MALFORMED: [string, () => Partial<ImdsInstance>, RegExp][] = [
  [
    'an instance id with shell in it',
    () => ({ overrides: { [IDENTITY]: identity({ instanceId: 'i-0123456789abcdef0;reboot' }) } }),
    /the identity document has no valid instanceId/,
  ],
  [
    'a region that is a path',
    () => ({ overrides: { [IDENTITY]: identity({ region: '../../etc' }) } }),
    /the identity document has no valid region/,
  ],
  [
    'an identity document that names its region twice',
    () => ({
      overrides: { [IDENTITY]: identity({}).replace('{', '{"region":"eu-west-1",') },
    }),
    /the identity document has no valid region/,
  ],
  [
    'an identity document that is not JSON',
    () => ({ overrides: { [IDENTITY]: '<html>captive portal</html>' } }),
    /the identity document has no valid region/,
  ],
  [
    'a domain of another partition',
    () => ({ overrides: { '/latest/meta-data/services/domain': 'amazonaws.evil.example' } }),
    /unexpected partition\/domain from IMDS/,
  ],
  [
    'a role name that is a path',
    () => ({ overrides: { '/latest/meta-data/iam/security-credentials/': '../../admin' } }),
    /no instance profile role in IMDS/,
  ],
  [
    'credentials that are not JSON',
    () => ({ overrides: { [CREDENTIALS]: 'AccessKeyId=AKIA…' } }),
    /IMDS has no credentials for the role/,
  ],
  [
    'credentials IMDS could not get',
    () => ({ overrides: { [CREDENTIALS]: credentials({ Code: 'AssumeRoleUnauthorizedAccess' }) } }),
    /IMDS has no credentials for the role .* \(Code 'AssumeRoleUnauthorizedAccess'\)/,
  ],
  [
    'an access key id with shell in it',
    () => ({ overrides: { [CREDENTIALS]: credentials({ AccessKeyId: 'ASIA$(reboot)AAAAAAAAA' }) } }),
    /IMDS credentials: bad AccessKeyId/,
  ],
  [
    'a secret key with an escaped newline',
    () => ({ overrides: { [CREDENTIALS]: credentials({ SecretAccessKey: 'abcdefghijklmnop\\nrest' }) } }),
    /IMDS credentials: bad SecretAccessKey/,
  ],
  [
    'a session token with a quote',
    () => ({ overrides: { [CREDENTIALS]: credentials({ Token: `${'A'.repeat(20)}'x` }) } }),
    /IMDS credentials: bad Token/,
  ],
  [
    'an IMDS session token with spaces',
    () => ({ token: 'not a token at all, really' }),
    /malformed session token/,
  ],
  ['an empty IMDS session token', () => ({ token: '' }), /malformed session token/],
];

describe.skipIf(!asRoot)('lkp-host-agent: malformed metadata, status and uninstall', () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    configured = await startAgentInstance(stack);
    const first = await configured.runAgent();
    expect(first.code, first.stderr).toBe(0);
    validBefore = parseCertificate(
      readFileSync(join(configured.root, 'etc/ssh/ssh_host_ed25519_key-cert.pub'), 'utf8').trim(),
    ).validBefore;
    bare = await startAgentInstance(stack);
  });

  afterAll(async () => {
    await configured?.close();
    await bare?.close();
    await stack?.close();
  });

  it.each(MALFORMED)('fails closed on %s and changes nothing', async (_, change, message) => {
    const imds = await startImdsStandin({ ...localInstanceMetadata(stack), ...change() });
    try {
      for (const host of [configured, bare]) {
        const before = snapshot(host.root);
        // A run that would otherwise renew (the certificate is at its end) and write everything.
        const run = await host.runAgent(undefined, {
          LKP_HOST_IMDS_ENDPOINT: imds.url,
          LKP_HOST_TEST_NOW: String(validBefore),
        });
        expect(run.stderr).toMatch(message);
        expect(run.code).not.toBe(0);
        expect(snapshot(host.root)).toEqual(before);
      }
    } finally {
      await imds.close();
    }
  });

  it('status lists what is installed and says whether the certificate is valid', async () => {
    const now = await configured.runAgent(['status']);
    expect(now.code).toBe(0);
    expect(now.stdout).toContain(`present  ${configured.root}/etc/ssh/ssh_host_ed25519_key-cert.pub`);
    expect(now.stdout).toContain(`present  ${configured.root}/etc/ssh/sshd_config.d/50-lkp.conf`);
    expect(now.stdout).toContain(`absent   ${configured.root}/etc/ssh/sshd_config.lkp-backup`);
    expect(now.stdout).toContain(`Key ID: "${LOCAL_INSTANCE_ARN}"`);
    const until = new Date(validBefore * 1000).toISOString().replace(/\.000Z$/, 'Z');
    expect(now.stdout).toContain(`certificate: valid until ${until}\n`);
    const later = await configured.runAgent(['status'], { LKP_HOST_TEST_NOW: String(validBefore) });
    expect(later.stdout).toContain(`certificate: EXPIRED at ${until}\n`);
    const none = await bare.runAgent(['status']);
    expect(none.stdout).toContain(`absent   ${bare.root}/etc/ssh/ssh_host_ed25519_key-cert.pub`);
    expect(none.stdout).toContain('certificate: none\n');
  });

  it('uninstall removes every file it wrote and restores the host as it was, but for the host key', async () => {
    const host = await startAgentInstance(stack);
    try {
      const original = snapshot(host.root);
      const run = await host.runAgent();
      expect(run.code, run.stderr).toBe(0);
      const installed = snapshot(host.root);
      expect(Object.keys(installed).length).toBeGreaterThan(Object.keys(original).length + 4);
      const removed = await host.runAgent(['uninstall']);
      expect(removed.code, removed.stderr).toBe(0);
      const after = snapshot(host.root);
      const hostKey = ['etc/ssh/ssh_host_ed25519_key', 'etc/ssh/ssh_host_ed25519_key.pub'];
      expect(Object.keys(after).sort()).toEqual([...Object.keys(original), ...hostKey].sort());
      for (const [file, content] of Object.entries(original)) expect(after[file]).toBe(content);
      const status = await host.runAgent(['status']);
      expect(status.stdout).not.toContain('present');
    } finally {
      await host.close();
    }
  });
});
