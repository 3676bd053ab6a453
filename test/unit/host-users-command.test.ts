/** `lkp host sync-users` as a command: option checks, and one run through AWS_ENDPOINT_URL_IAM. */
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hostCommand } from '../../client/commands/host.js';
import { syncUsersCommand } from '../../client/commands/host-sync-users.js';
import { CliError, EXIT } from '../../client/errors.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';
import { isRoot, makeAccountsRoot, readEtc } from '../helpers/accounts-root.js';

const run = (...args: string[]) => syncUsersCommand.parseAsync(args, { from: 'user' });
/** `lkp` as client/cli.ts assembles it: sync-users under host, no positional options. */
const lkp = new Command('lkp').addCommand(hostCommand.addCommand(syncUsersCommand));
const runLkp = (...args: string[]) => lkp.parseAsync(args, { from: 'user' });

function captureStdout(): string[] {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  return out;
}

function useIam(iam: IamStandin): void {
  vi.stubEnv('AWS_ENDPOINT_URL_IAM', iam.url);
  vi.stubEnv('AWS_ACCESS_KEY_ID', iam.credentials.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', iam.credentials.secretAccessKey);
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  vi.stubEnv('AWS_PROFILE', undefined);
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('lkp host sync-users: options', () => {
  it.each<[string[], RegExp]>([
    [[], /no IAM group given/],
    [['--iam-group', 'dev ops'], /"dev ops" is not an IAM group name/],
    [['--iam-group', 'dev', '--group-prefix', 'LKP:'], /--group-prefix "LKP:"/],
    [['--iam-group', 'dev', '--assume-role', 'arn:aws:iam::1:user/x'], /is not an IAM role ARN/],
    [['--iam-group', 'dev', '--external-id', 'x1'], /--external-id needs --assume-role/],
    [['--iam-group', 'dev', '--shell', 'bash'], /--shell "bash" must be an absolute path/],
    [['--delete-removed'], /--delete-removed needs --iam-group or --sudo-group/],
  ])('refuses %j', async (args, message) => {
    const refusal = run(...args);
    await expect(refusal).rejects.toBeInstanceOf(CliError);
    await expect(refusal).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: expect.stringMatching(message),
    });
  });
});

describe('lkp host sync-users, parsed as the lkp program parses it', () => {
  // `host` has the same options; they must still reach sync-users.
  it('hands options given after sync-users to it', async () => {
    await expect(runLkp('host', 'sync-users', '--iam-group', 'dev ops')).rejects.toMatchObject({
      message: '"dev ops" is not an IAM group name',
    });
  });

  it('keeps --dry-run a dry run and --root the given root', async () => {
    const iam = await startIamStandin({ account: '111122223333', groups: { developers: ['jane'] } });
    const root = makeAccountsRoot();
    try {
      useIam(iam);
      const passwd = readEtc(root, 'passwd');
      const out = captureStdout();
      await runLkp('host', 'sync-users', '--dry-run', '--root', root, '--iam-group', 'developers');
      expect(out.join('')).toContain('dry run: created user jane for IAM user jane\n');
      expect(readEtc(root, 'passwd')).toBe(passwd);
    } finally {
      rmSync(root, { recursive: true, force: true });
      await iam.close();
    }
  });
});

describe.skipIf(!isRoot)('lkp host sync-users: a run (needs root for useradd --prefix)', () => {
  it('reads IAM at AWS_ENDPOINT_URL_IAM and reports what it did, then that nothing is left to do', async () => {
    const iam = await startIamStandin({
      account: '111122223333',
      groups: { developers: ['jane.doe@example.com'] },
    });
    const root = makeAccountsRoot();
    try {
      useIam(iam);
      vi.stubEnv('AWS_REGION', 'eu-west-1'); // IAM still signs in us-east-1
      const out = captureStdout();
      await run('--iam-group', 'developers', '--root', root);
      expect(out.join('')).toBe(
        [
          'created group lkp_developers',
          'created user jane.doe.at.example.com for IAM user jane.doe@example.com',
          'set groups of jane.doe.at.example.com to lkp_developers',
          '',
        ].join('\n'),
      );
      expect(readEtc(root, 'passwd')).toMatch(/^jane\.doe\.at\.example\.com:/m);
      out.length = 0;
      await run('--iam-group', 'developers', '--root', root);
      expect(out.join('')).toBe('accounts already in sync\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
      await iam.close();
    }
  });
});
