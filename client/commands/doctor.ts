import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { stsSdk } from '../lib/aws-sdk.js';
import type { CallerIdentity, DoctorProbes } from '../lib/doctor.js';
import { caUrlOption, type CaUrlOptions } from './shared.js';

interface DoctorFlags extends CaUrlOptions {
  json?: boolean;
  profile?: string;
  region?: string;
}

export const doctorCommand = caUrlOption(
  new Command('doctor')
    .description(
      'check credentials, the CA, the clock and the local ssh setup; prints a fix for each problem',
    )
    .option('--profile <name>', 'AWS profile (default: the AWS credential chain)')
    .option('--region <region>', 'STS region for the identity check (default: AWS_REGION or us-east-1)')
    .option('--json', 'print the checks as JSON')
    .addHelpText('after', '\nExit code 0 when no check fails (warnings allowed), 1 otherwise.'),
).action(async (flags: DoctorFlags) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const { formatChecks, runDoctor } = await import('../lib/doctor.js');
  const checks = await runDoctor(flags.ca ? { caUrl: flags.ca } : {}, systemProbes(flags));
  const ok = checks.every((c) => c.status !== 'fail');
  process.stdout.write(
    flags.json ? `${JSON.stringify({ ok, checks }, null, 2)}\n` : `${formatChecks(checks)}\n`,
  );
  process.exitCode = ok ? 0 : 1;
});

function systemProbes(flags: DoctorFlags): DoctorProbes {
  return {
    callerIdentity: () => callerIdentity(flags),
    caInfo: async (caUrl) => {
      const { fetchCaInfo } = await import('../lib/certificates.js');
      const info = await fetchCaInfo(caUrl);
      return { keys: info.CaPublicKeys.length, serverId: info.ServerId };
    },
    readFile: (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
    exists: existsSync,
    sshVersion: async () => (await promisify(execFile)('ssh', ['-V'])).stderr,
    env: process.env,
    home: homedir(),
    now: () => new Date(),
  };
}

/** STS GetCallerIdentity, keeping the answer's Date header: AWS's clock, for the skew check. */
async function callerIdentity(flags: DoctorFlags): Promise<CallerIdentity> {
  const { resolveCredentials } = await import('../lib/credentials.js');
  // The SDK loads when the check runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const { GetCallerIdentityCommand, STSClient } = stsSdk();
  const credentials = await resolveCredentials(flags.profile ? { profile: flags.profile } : {});
  const sts = new STSClient({
    region: flags.region ?? process.env.AWS_REGION ?? 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
  let date: Date | undefined;
  sts.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string> }).headers;
      if (headers?.date) date = new Date(headers.date);
      return result;
    },
    { step: 'deserialize', name: 'lkpDateHeader' },
  );
  const answer = await sts.send(new GetCallerIdentityCommand({}));
  if (!answer.Arn || !answer.Account) throw new Error('STS answered without an ARN');
  return {
    arn: answer.Arn,
    account: answer.Account,
    ...(date && !Number.isNaN(date.getTime()) ? { date } : {}),
  };
}
