/** `lkp host sync-users` as a command: option checks, and one run through AWS_ENDPOINT_URL_IAM. */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { syncUsersCommand } from '../../client/commands/host-sync-users.js';
import { CliError, EXIT } from '../../client/errors.js';
import { startIamStandin } from '../../src/local/iam-standin.js';
import { isRoot, makeAccountsRoot, readEtc } from '../helpers/accounts-root.js';

const run = (...args: string[]) => syncUsersCommand.parseAsync(args, { from: 'user' });

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
  ])('refuses %j', async (args, message) => {
    const refusal = run(...args);
    await expect(refusal).rejects.toBeInstanceOf(CliError);
    await expect(refusal).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: expect.stringMatching(message),
    });
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
      vi.stubEnv('AWS_ENDPOINT_URL_IAM', iam.url);
      vi.stubEnv('AWS_ACCESS_KEY_ID', iam.credentials.accessKeyId);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', iam.credentials.secretAccessKey);
      vi.stubEnv('AWS_REGION', 'eu-west-1'); // IAM still signs in us-east-1
      const out: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        out.push(String(chunk));
        return true;
      });
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
