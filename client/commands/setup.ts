import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { caTransport } from '../lib/ca-transport.js';
import {
  type CaEndpoint,
  type CaProfile,
  checkProfileName,
  DEFAULT_PROFILE,
  DEFAULT_USER,
  lkpPaths,
  readConfig,
  REACH_MODES,
  type ReachMode,
} from '../lib/config.js';
import { checkHostPattern } from '../lib/ssh-config.js';
import { checkUser } from '../lib/targets.js';
import { profileOptions } from './shared.js';

interface SetupOptions {
  profile?: string;
  url?: string;
  iam?: boolean;
  function?: string;
  region?: string;
  awsProfile?: string;
  hostPattern: string[];
  defaultUser: string;
  reach?: ReachMode;
  makeDefault?: boolean;
  refreshCa?: boolean;
  uninstall?: boolean;
  purge?: boolean;
  json?: boolean;
}

export const setupCommand = profileOptions(
  new Command('setup')
    .description(
      'set up lkp for a CA: after this, plain ssh, scp, rsync and git reach instances by id, ARN or Name tag',
    )
    .option('--url <url>', 'the CA URL: a Function URL or `lkp-ca serve`')
    .option('--iam', 'sign requests to the Function URL with SigV4 (Function URL AuthType AWS_IAM)')
    .option('--function <name>', 'the CA Lambda function name or ARN (reached with lambda:InvokeFunction)')
    .option('--region <region>', 'region of the CA function, and of instance lookups by id or Name tag')
    .addOption(
      new Option(
        '--host-pattern <pattern>',
        'more ssh host patterns to treat as lkp targets, e.g. "web-*" (repeatable)',
      )
        .default([])
        .argParser((value: string, previous: string[]) => [...previous, value]),
    )
    .option('--default-user <name>', 'login when none is given', DEFAULT_USER)
    .addOption(
      new Option(
        '--reach <mode>',
        'auto: through an EC2 Instance Connect Endpoint when an instance has no address you can reach; eice: always; direct: never (default auto)',
      ).choices(REACH_MODES),
    )
    .option('--make-default', 'make this profile the default one (the first profile always is)')
    .option(
      '--refresh-ca',
      "fetch the profile's CA keys again, show them and trust them (after a CA key rotation); nothing else changes",
    )
    .option('--uninstall', 'remove what lkp setup added (all profiles, or just --profile when given)')
    .option('--purge', 'with --uninstall: remove the keys too')
    .option('--json', 'print what was done as JSON')
    .addHelpText(
      'after',
      `
Writes ~/.lkp/config, ~/.lkp/known_hosts.d/<profile> (@cert-authority lines for this
profile's CA keys, used for this profile's hosts only; the keys and their fingerprints are
printed), ~/.lkp/revoked_hosts.d/<profile>.krl (the CA's host revocations, for ssh's
RevokedHostKeys), ~/.lkp/ssh_config, and one "Include" line at the top of ~/.ssh/config (a backup of the
original is kept once as ~/.ssh/config.lkp-backup). Running it again is safe.

Examples:
  lkp setup --url https://abc123.lambda-url.us-east-1.on.aws/
  lkp setup --function lkp-ca --region eu-west-1 --aws-profile work
  lkp setup --profile prod --url https://… --iam --host-pattern 'prod-*'
  lkp setup --profile prod --refresh-ca   # after the CA published a new key
  lkp setup --function lkp-ca --region eu-west-1 --reach eice   # private subnets (docs/eice.md)
  ssh ec2-user@i-0123456789abcdef0        # then: plain ssh, scp, rsync, git
  lkp setup --uninstall`,
    ),
  'name of this lkp profile (one per CA or account; default: "default")',
).action(async (opts: SetupOptions) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const [
    { fetchCaInfo },
    { resolveCredentials },
    { installProfile, uninstall },
    { checkCaPublicKeys, fingerprintOfLine, untrustedKeys },
    { caRevocations, describeKept, refreshHostRevocations },
  ] = await Promise.all([
    import('../lib/certificates.js'),
    import('../lib/credentials.js'),
    import('../lib/install.js'),
    import('../lib/ca-keys.js'),
    import('../lib/host-revocations.js'),
  ]);
  const paths = lkpPaths();
  const name = checkProfileName(opts.profile ?? DEFAULT_PROFILE);
  const lkpCommand = [process.execPath, realpathSync(process.argv[1] ?? '')];
  if (opts.uninstall) {
    const explicit = opts.profile !== undefined;
    const removed = uninstall(paths, {
      ...(explicit ? { profile: name } : {}),
      purge: opts.purge ?? false,
      lkpCommand,
    });
    report(
      opts,
      { removed },
      removed.length ? `removed:\n${removed.map((r) => `  ${r}`).join('\n')}` : 'nothing to remove',
    );
    return;
  }
  // Checked before anything is asked or written.
  const patterns = opts.hostPattern.map(checkHostPattern);
  const before = readConfig(paths).profiles[name];
  const settings = opts.refreshCa ? storedSettings(opts, name, before) : await settingsFrom(opts, patterns);
  let credentials: ReturnType<typeof resolveCredentials> | undefined;
  const getCredentials = () =>
    (credentials ??= resolveCredentials(settings.awsProfile ? { profile: settings.awsProfile } : {}));
  const transport = caTransport(settings.ca, {
    ...(settings.awsProfile ? { awsProfile: settings.awsProfile } : {}),
    credentials: getCredentials,
  });
  const info = await fetchCaInfo(transport);
  // Network input: every value must be one public key before any of it is written.
  const caKeys = checkCaPublicKeys(info.CaPublicKeys, transport.where);
  const added = untrustedKeys(caKeys, before?.caPublicKeys ?? []);
  const dropped = (before?.caPublicKeys ?? []).filter(
    (line) => !caKeys.some((k) => k.fingerprint === fingerprintOfLine(line)),
  );
  const result = installProfile(
    paths,
    name,
    { ...settings, caPublicKeys: caKeys.map((k) => k.line) },
    { makeDefault: opts.makeDefault ?? false, lkpCommand },
  );
  const knownHosts = paths.knownHosts(name);
  // Host revocations (docs/security.md, "Revocation"): fetched now, refreshed by logins. A CA that
  // cannot be asked (no credentials yet) does not stop the setup: logins fetch the list later.
  const revokedHostKeys = paths.revokedHostKeys(name);
  const revocations = await refreshHostRevocations(
    revokedHostKeys,
    caRevocations(transport, info, getCredentials),
    new Date(),
  );
  report(
    opts,
    {
      profile: name,
      default: result.config.default,
      ca: transport.where,
      serverId: info.ServerId,
      caPublicKeys: caKeys.map((k) => ({
        key: k.line,
        fingerprint: k.fingerprint,
        new: added.includes(k),
      })),
      files: [paths.config, knownHosts, paths.sshConfig, paths.userSshConfig],
      revokedHostKeys: revocations.installed
        ? { file: revokedHostKeys }
        : { file: null, problem: describeKept(revocations) },
    },
    [
      `lkp profile "${name}" uses the CA at ${transport.where} (${info.ServerId})`,
      `trusted for this profile's hosts only: ${caKeys.length} CA key(s)`,
      ...caKeys.map((k) => `  ${k.fingerprint}  ${k.line}${added.includes(k) && before ? '  (new)' : ''}`),
      ...(dropped.length ? [`no longer trusted: ${dropped.length} CA key(s) the CA stopped publishing`] : []),
      `wrote ${paths.config}, ${knownHosts}, ${paths.sshConfig}`,
      revocations.installed
        ? `host revocation list: ${revokedHostKeys} (ssh refuses locked instances; lkp refreshes it once a minute when you log in)`
        : `host revocation list: not fetched: ${describeKept(revocations)}`,
      result.includeAdded
        ? `added an Include line at the top of ${paths.userSshConfig}`
        : `${paths.userSshConfig} already includes lkp`,
      `try: ssh ${settings.defaultUser}@i-0123456789abcdef0   (or lkp ssh <Name tag>)`,
    ].join('\n'),
  );
});

type Settings = Omit<CaProfile, 'caPublicKeys'>;

async function settingsFrom(opts: SetupOptions, hostPatterns: string[]): Promise<Settings> {
  return {
    ca: await endpointFrom(opts),
    ...(opts.awsProfile ? { awsProfile: opts.awsProfile } : {}),
    ...(opts.region ? { region: opts.region } : {}),
    hostPatterns,
    defaultUser: checkUser(opts.defaultUser),
    ...(opts.reach ? { reach: opts.reach } : {}),
  };
}

/** --refresh-ca: the profile as it is, only its CA keys fetched again (and shown). */
function storedSettings(opts: SetupOptions, name: string, profile: CaProfile | undefined): Settings {
  if (!profile)
    throw new CliError(
      `no lkp profile named "${name}" to refresh`,
      EXIT.usage,
      'run `lkp setup --profile <name> --url <CA URL>` first',
    );
  if (
    opts.url ||
    opts.function ||
    opts.iam ||
    opts.region ||
    opts.awsProfile ||
    opts.reach ||
    opts.hostPattern.length
  )
    throw new CliError(
      '--refresh-ca keeps the profile as it is',
      EXIT.usage,
      'to change the CA or the host patterns, run `lkp setup` with them (and without --refresh-ca)',
    );
  const { caPublicKeys: _trusted, ...settings } = profile;
  return settings;
}

async function endpointFrom(opts: SetupOptions): Promise<CaEndpoint> {
  if (opts.url && opts.function) throw new CliError('give either --url or --function, not both', EXIT.usage);
  let url = opts.url;
  let fn = opts.function;
  if (!url && !fn) {
    // Prompt only for a person at a terminal; scripts get a usage error naming the flags.
    if (!process.stdin.isTTY || !process.stderr.isTTY)
      throw new CliError(
        'no CA given',
        EXIT.usage,
        'pass --url <CA URL>, or --function <name> --region <region>',
      );
    const answer = await ask('CA URL, or Lambda function name: ');
    if (/^https?:\/\//.test(answer)) url = answer;
    else fn = answer;
    if (fn && !opts.region) opts.region = await ask('region of the function: ');
  }
  if (url) {
    try {
      new URL(url);
    } catch {
      throw new CliError(
        `--url "${url}" is not a URL`,
        EXIT.usage,
        'for example --url https://abc.lambda-url.us-east-1.on.aws/',
      );
    }
    return opts.iam ? { url, auth: 'iam' } : { url };
  }
  if (!fn)
    throw new CliError(
      'no CA given',
      EXIT.usage,
      'pass --url <CA URL>, or --function <name> --region <region>',
    );
  if (!opts.region)
    throw new CliError(
      '--function needs --region',
      EXIT.usage,
      `e.g. lkp setup --function ${fn} --region us-east-1`,
    );
  return { function: fn, region: opts.region };
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

function report(opts: SetupOptions, data: object, text: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${text}\n`);
}
