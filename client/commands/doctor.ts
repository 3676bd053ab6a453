import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { CliError } from '../errors.js';
import { stsSdk } from '../lib/aws-sdk.js';
import type { CallerIdentity, DoctorProbes, StsTarget } from '../lib/doctor.js';
import { caUrlOption, type CaUrlOptions, resolveCa, type ResolvedCa } from './shared.js';

interface DoctorFlags extends CaUrlOptions {
  json?: boolean;
  region?: string;
}

export const doctorCommand = caUrlOption(
  new Command('doctor')
    .description(
      'check credentials, the CA, the clock and the local ssh setup; prints a fix for each problem',
    )
    .option(
      '--region <region>',
      "STS region when the CA cannot be asked (default: the CA's advertised STS region)",
    )
    .option('--json', 'print the checks as JSON')
    .addHelpText(
      'after',
      `
The CA (--ca, else the lkp profile) is asked first: GetCallerIdentity then goes to the STS endpoint
and region the CA advertises, with the profile's AWS profile, exactly as a login would.
Exit code 0 when no check fails (warnings allowed), 1 otherwise.`,
    ),
).action(async (flags: DoctorFlags, command: Command) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const { formatChecks, runDoctor } = await import('../lib/doctor.js');
  const ca = caOrNothing(flags, command);
  const checks = await runDoctor(ca ? { caWhere: ca.transport.where } : {}, systemProbes(flags, ca));
  const ok = checks.every((c) => c.status !== 'fail');
  process.stdout.write(
    flags.json ? `${JSON.stringify({ ok, checks }, null, 2)}\n` : `${formatChecks(checks)}\n`,
  );
  process.exitCode = ok ? 0 : 1;
});

/** Doctor runs without a CA too (it then says how to set one up). */
function caOrNothing(flags: DoctorFlags, command: Command): ResolvedCa | undefined {
  try {
    return resolveCa(flags, command);
  } catch (e) {
    if (e instanceof CliError && e.message === 'no CA given') return undefined;
    throw e;
  }
}

function systemProbes(flags: DoctorFlags, ca: ResolvedCa | undefined): DoctorProbes {
  return {
    callerIdentity: (sts) => callerIdentity(flags, ca, sts),
    ...(ca
      ? {
          caInfo: async () => {
            const { fetchCaInfo } = await import('../lib/certificates.js');
            const info = await fetchCaInfo(ca.transport);
            return {
              keys: info.CaPublicKeys.length,
              serverId: info.ServerId,
              stsEndpoint: info.StsEndpoint,
              stsRegion: info.StsRegion,
            };
          },
        }
      : {}),
    readFile: (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
    exists: existsSync,
    sshVersion: async () => (await promisify(execFile)('ssh', ['-V'])).stderr,
    env: process.env,
    home: homedir(),
    now: () => new Date(),
  };
}

/** STS GetCallerIdentity at the CA's STS, keeping the answer's Date header: AWS's clock, for the skew check. */
async function callerIdentity(
  flags: DoctorFlags,
  ca: ResolvedCa | undefined,
  sts: StsTarget | undefined,
): Promise<CallerIdentity> {
  const [{ resolveCredentials }, { ProbeError, stsFailure }] = await Promise.all([
    import('../lib/credentials.js'),
    import('../lib/doctor.js'),
  ]);
  let credentials;
  try {
    credentials = ca
      ? await ca.credentials()
      : await resolveCredentials(flags.awsProfile ? { profile: flags.awsProfile } : {});
  } catch (e) {
    throw new ProbeError(
      e instanceof Error ? e.message : String(e),
      'run `aws sso login` (or pass --aws-profile / set AWS_PROFILE), then `aws sts get-caller-identity`',
    );
  }
  // The SDK loads when the check runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const { GetCallerIdentityCommand, STSClient } = stsSdk();
  const region = sts?.region ?? flags.region ?? ca?.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const client = new STSClient({
    region,
    ...(sts ? { endpoint: sts.endpoint } : {}),
    credentials,
    maxAttempts: 1,
  });
  let date: Date | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string> }).headers;
      if (headers?.date) date = new Date(headers.date);
      return result;
    },
    { step: 'deserialize', name: 'lkpDateHeader' },
  );
  let answer;
  try {
    answer = await client.send(new GetCallerIdentityCommand({}), {
      abortSignal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    throw stsFailure(e, sts?.endpoint ?? `https://sts.${region}.amazonaws.com`);
  }
  if (!answer.Arn || !answer.Account) throw new Error('STS answered without an ARN');
  return {
    arn: answer.Arn,
    account: answer.Account,
    ...(date && !Number.isNaN(date.getTime()) ? { date } : {}),
  };
}
