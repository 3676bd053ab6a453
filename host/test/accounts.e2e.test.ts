/**
 * Unix accounts through the whole agent run (issue 16): a bare host under a temporary root, the
 * local stack's CA configured with LKP_ACCOUNT_GROUPS / LKP_SUDO_GROUPS and reading the IAM
 * stand-in with its own role, and `lkp-host-agent run` asking it with the instance role from IMDS:
 * accounts are created, and locked once their owner leaves the group. The instance role has no
 * IAM access at all (the stand-in accepts only the CA's credentials).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import { findSshd } from '../../src/local/openssh.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { makeAccountsRoot, readEtc } from '../../test/helpers/accounts-root.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const JANE = 'jane.doe.at.example.com';
const asRoot = process.getuid?.() === 0 && findSshd() !== undefined;

let stack: LocalStack;
let host: AgentInstance;

const line = (file: string, name: string) =>
  readEtc(host.root, file)
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));

describe.skipIf(!asRoot)('lkp-host-agent run: unix accounts decided by the CA', () => {
  beforeAll(async () => {
    stack = await startLocalStack({
      // 0: the CA reads IAM for every request, so a membership change shows at the next run.
      caEnv: { LKP_ACCOUNT_GROUPS: 'developers', LKP_SUDO_GROUPS: 'admins', LKP_ACCOUNT_GROUPS_MAX_AGE: '0' },
    });
    stack.iam.setGroups({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] });
    host = await startAgentInstance(stack);
    makeAccountsRoot(host.root);
  });

  afterAll(async () => {
    await host?.close();
    await stack?.close();
  });

  it('creates the accounts the CA answers, and a 10-minute timer', async () => {
    const run = await host.runAgent();
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`created user ${JANE}`);
    expect(line('passwd', JANE)).toMatch(new RegExp(`^${JANE}:x:\\d+:\\d+:lkp:/home/${JANE}:/bin/bash$`));
    expect(line('group', 'lkp_developers')?.split(':')[3]?.split(',').sort()).toEqual(['bob', JANE]);
    expect(readFileSync(join(host.root, 'etc/sudoers.d/lkp-users'), 'utf8')).toMatch(
      /^#\d+ ALL=\(ALL\) NOPASSWD: ALL$/m,
    );
    // The CA's audit line for the instance's Accounts request.
    expect(stack.caOutput()).toMatch(
      /"decision":"allow".*"kind":"Accounts".*"accounts":\["bob","jane\.doe\.at\.example\.com"\]/,
    );
    // The next run comes within 10 minutes, not at a sixth of the certificate's lifetime.
    await host.runAgent();
    expect(readFileSync(join(host.root, 'etc/cron.d/lkp-host-renew'), 'utf8')).toMatch(
      /^\*\/10 \* \* \* \* root /m,
    );
  });

  it('locks a person who left the group at the next run, and takes their sudo', async () => {
    stack.iam.setGroups({ developers: ['jane.doe@example.com'], admins: [] });
    const run = await host.runAgent();
    expect(run.stderr).toContain('locked user bob (left the IAM groups)');
    expect(line('shadow', 'bob')?.split(':')[1]).toBe('!*');
    expect(existsSync(join(host.root, 'etc/sudoers.d/lkp-users'))).toBe(false);
    expect(line('group', 'lkp_developers')?.split(':')[3]).toBe(JANE);
  });
});
