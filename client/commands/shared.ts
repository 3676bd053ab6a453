/**
 * What every command that talks to the CA shares (DESIGN §4): one flag for the lkp profile
 * (`--profile`), one for the AWS profile (`--aws-profile`), and the CA itself — from `--ca`/`--function`
 * when given, else from the profile `lkp setup` wrote (its CA, transport, AWS profile and region).
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { caTransport, type CaTransport } from '../lib/ca-transport.js';
import { type CaEndpoint, type CaProfile, lkpPaths, pickProfile, readConfig } from '../lib/config.js';

export interface ProfileOptions {
  /** The lkp profile (`lkp setup --profile`). */
  profile?: string;
  /** The AWS profile for credentials, EC2 lookups and Invoke. */
  awsProfile?: string;
}

export interface CaUrlOptions extends ProfileOptions {
  ca?: string;
  iam?: boolean;
  function?: string;
  caRegion?: string;
}

/** Old spellings, still accepted with a notice: [old flag, new flag, option key it sets]. */
const RENAMED: ReadonlyArray<readonly [string, string, keyof ProfileOptions]> = [
  ['--profile-name', '--profile', 'profile'],
];

/** `--profile` and `--aws-profile`, plus the hidden old spellings (a notice on stderr when used). */
export function profileOptions(
  command: Command,
  profileHelp = 'the lkp profile to use (default: the default one)',
): Command {
  command
    .option('--profile <name>', profileHelp)
    .option(
      '--aws-profile <name>',
      "AWS profile for credentials (default: the lkp profile's, else the AWS credential chain)",
    );
  for (const [old, now] of RENAMED)
    command.addOption(new Option(`${old} <name>`, `old spelling of ${now}`).hideHelp());
  return command.hook('preAction', (_, action) => {
    for (const [old, now, key] of RENAMED) {
      const oldKey = old.slice(2).replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
      const value: unknown = action.getOptionValue(oldKey);
      if (typeof value !== 'string') continue;
      process.stderr.write(`lkp: ${old} is now ${now}; the old spelling still works for now\n`);
      if (action.getOptionValue(key) === undefined) action.setOptionValueWithSource(key, value, 'cli');
    }
  });
}

/**
 * `--ca <url>` (LKP_CA_URL, `--iam` to sign for an AWS_IAM Function URL) or `--function <name>`
 * (LKP_CA_FUNCTION) with `--ca-region`; without them, the lkp profile's CA. Adds the profile flags.
 */
export function caUrlOption(command: Command): Command {
  return profileOptions(
    command
      .addOption(
        new Option('--ca <url>', "CA endpoint URL (default: the lkp profile's CA)").env('LKP_CA_URL'),
      )
      .option('--iam', 'sign requests to --ca with SigV4 (Function URL with AuthType AWS_IAM)')
      .addOption(
        new Option(
          '--function <name>',
          'CA Lambda function name or ARN, invoked with your AWS credentials',
        ).env('LKP_CA_FUNCTION'),
      )
      .addOption(
        new Option(
          '--ca-region <region>',
          'region of --function (default: the profile region, AWS_REGION)',
        ).env('AWS_REGION'),
      ),
  );
}

export interface ResolvedCa {
  transport: CaTransport;
  /** The same choice as command-line arguments, for a job that runs lkp again (renewal). */
  args: string[];
  /** The lkp profile the CA came from, when it came from one. */
  profileName?: string;
  profile?: CaProfile;
  awsProfile?: string;
  /** Region of EC2 lookups: the profile's, when it has one. */
  region?: string;
  /** The caller's credentials (AWS profile, else the chain); resolved once, on first use. */
  credentials(): Promise<AwsCredentialIdentity>;
}

/**
 * Flags on the command line win; then `--profile`; then LKP_CA_URL/LKP_CA_FUNCTION; then the
 * default profile. A `--profile` that names no lkp profile says how the flag changed meaning.
 */
export function resolveCa(opts: CaUrlOptions, command?: Command): ResolvedCa {
  const fromCli = (key: string) => command?.getOptionValueSource(key) === 'cli';
  // An empty LKP_CA_URL counts as unset.
  const caFlags = Boolean(opts.ca) || Boolean(opts.function);
  const useFlags = caFlags && (fromCli('ca') || fromCli('function') || opts.profile === undefined);
  let profileName: string | undefined;
  let profile: CaProfile | undefined;
  if (!useFlags || opts.profile !== undefined) {
    const config = readConfig(lkpPaths());
    if (!caFlags && opts.profile === undefined && config.default === undefined)
      throw new CliError(
        'no CA given',
        EXIT.usage,
        'run `lkp setup --url <CA URL>` once, or pass --ca <url> or --function <name> (or set LKP_CA_URL)',
      );
    ({ name: profileName, profile } = withRenameHint(() => pickProfile(config, opts.profile), opts.profile));
  }
  const endpoint: CaEndpoint = useFlags ? flagEndpoint(opts, profile) : (profile as CaProfile).ca;
  const awsProfile = opts.awsProfile ?? profile?.awsProfile;
  let credentials: Promise<AwsCredentialIdentity> | undefined;
  const getCredentials = () =>
    (credentials ??= import('../lib/credentials.js').then(({ resolveCredentials }) =>
      resolveCredentials(awsProfile ? { profile: awsProfile } : {}),
    ));
  return {
    transport: caTransport(endpoint, { ...(awsProfile ? { awsProfile } : {}), credentials: getCredentials }),
    args:
      'function' in endpoint
        ? ['--function', endpoint.function, '--ca-region', endpoint.region]
        : ['--ca', endpoint.url, ...(endpoint.auth === 'iam' ? ['--iam'] : [])],
    ...(profileName !== undefined && profile ? { profileName, profile } : {}),
    ...(awsProfile ? { awsProfile } : {}),
    ...(profile?.region ? { region: profile.region } : {}),
    credentials: getCredentials,
  };
}

function flagEndpoint(opts: CaUrlOptions, profile: CaProfile | undefined): CaEndpoint {
  if (opts.function) {
    const region = opts.caRegion ?? profile?.region;
    if (!region)
      throw new CliError(
        `--function ${opts.function} needs a region`,
        EXIT.usage,
        'pass --ca-region or set AWS_REGION',
      );
    return { function: opts.function, region };
  }
  const url = opts.ca ?? '';
  try {
    new URL(url);
  } catch {
    throw new CliError(
      `--ca "${url}" is not a URL`,
      EXIT.usage,
      'for example --ca https://abc.lambda-url.us-east-1.on.aws/',
    );
  }
  return opts.iam ? { url, auth: 'iam' } : { url };
}

/** `--profile` used to name the AWS profile on some commands: say so when it names no lkp profile. */
export function withRenameHint<T>(pick: () => T, name: string | undefined): T {
  try {
    return pick();
  } catch (e) {
    if (!(e instanceof CliError) || name === undefined) throw e;
    throw new CliError(
      e.message,
      e.exitCode,
      `${e.hint ?? ''}${e.hint ? '; ' : ''}--profile names the lkp profile (lkp setup); for an AWS profile use --aws-profile ${name}`,
    );
  }
}
