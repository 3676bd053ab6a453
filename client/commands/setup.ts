import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { caTransport } from '../lib/ca-transport.js';
import { type CaEndpoint, checkProfileName, DEFAULT_PROFILE, DEFAULT_USER, lkpPaths } from '../lib/config.js';
import { checkUser } from '../lib/targets.js';

interface SetupOptions {
  profileName: string;
  url?: string;
  iam?: boolean;
  function?: string;
  region?: string;
  awsProfile?: string;
  hostPattern: string[];
  defaultUser: string;
  makeDefault?: boolean;
  uninstall?: boolean;
  purge?: boolean;
  json?: boolean;
}

/** ssh pattern-list entries: no spaces, quotes, commas or negation (they are joined into one list). */
const HOST_PATTERN = /^[A-Za-z0-9*?][A-Za-z0-9*?._:/+=-]{0,127}$/;

export const setupCommand = new Command('setup')
  .description(
    'set up lkp for a CA: after this, plain ssh, scp, rsync and git reach instances by id, ARN or Name tag',
  )
  .option(
    '--profile-name <name>',
    'name of this CA profile (several CAs or accounts can be set up)',
    DEFAULT_PROFILE,
  )
  .option('--url <url>', 'the CA URL: a Function URL or `lkp-ca serve`')
  .option('--iam', 'sign requests to the Function URL with SigV4 (Function URL AuthType AWS_IAM)')
  .option('--function <name>', 'the CA Lambda function name or ARN (reached with lambda:InvokeFunction)')
  .option('--region <region>', 'region of the CA function, and of instance lookups by id or Name tag')
  .option('--aws-profile <name>', 'AWS profile for credentials (default: the AWS credential chain)')
  .addOption(
    new Option(
      '--host-pattern <pattern>',
      'more ssh host patterns to treat as lkp targets, e.g. "web-*" (repeatable)',
    )
      .default([])
      .argParser((value: string, previous: string[]) => [...previous, value]),
  )
  .option('--default-user <name>', 'login when none is given', DEFAULT_USER)
  .option('--make-default', 'make this profile the default one (the first profile always is)')
  .option('--uninstall', 'remove what lkp setup added (all profiles, or just --profile-name when given)')
  .option('--purge', 'with --uninstall: remove the keys too')
  .option('--json', 'print what was done as JSON')
  .addHelpText(
    'after',
    `
Writes ~/.lkp/config, ~/.lkp/known_hosts (@cert-authority lines for the CA keys),
~/.lkp/ssh_config, and one "Include" line at the top of ~/.ssh/config (a backup of the
original is kept once as ~/.ssh/config.lkp-backup). Running it again is safe.

Examples:
  lkp setup --url https://abc123.lambda-url.us-east-1.on.aws/
  lkp setup --function lkp-ca --region eu-west-1 --aws-profile work
  lkp setup --profile-name prod --url https://… --iam --host-pattern 'prod-*'
  ssh ec2-user@i-0123456789abcdef0        # then: plain ssh, scp, rsync, git
  lkp setup --uninstall`,
  )
  .action(async (opts: SetupOptions, command: Command) => {
    // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
    const [{ fetchCaInfo }, { resolveCredentials }, { installProfile, uninstall }] = await Promise.all([
      import('../lib/certificates.js'),
      import('../lib/credentials.js'),
      import('../lib/install.js'),
    ]);
    const paths = lkpPaths();
    const name = checkProfileName(opts.profileName);
    const lkpCommand = [process.execPath, realpathSync(process.argv[1] ?? '')];
    if (opts.uninstall) {
      const explicit = command.getOptionValueSource('profileName') === 'cli';
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
    const endpoint = await endpointFrom(opts);
    const patterns = opts.hostPattern.map((p) => {
      if (!HOST_PATTERN.test(p))
        throw new CliError(
          `invalid --host-pattern "${p}"`,
          EXIT.usage,
          'use one ssh pattern per flag, e.g. --host-pattern "web-*"',
        );
      return p;
    });
    const transport = caTransport(endpoint, {
      ...(opts.awsProfile ? { awsProfile: opts.awsProfile } : {}),
      credentials: () => resolveCredentials(opts.awsProfile ? { profile: opts.awsProfile } : {}),
    });
    const info = await fetchCaInfo(transport);
    if (!Array.isArray(info.CaPublicKeys) || info.CaPublicKeys.length === 0)
      throw new CliError(`the CA at ${transport.where} published no CA keys`, EXIT.unreachable);
    const result = installProfile(
      paths,
      name,
      {
        ca: endpoint,
        ...(opts.awsProfile ? { awsProfile: opts.awsProfile } : {}),
        ...(opts.region ? { region: opts.region } : {}),
        hostPatterns: patterns,
        defaultUser: checkUser(opts.defaultUser),
        caPublicKeys: info.CaPublicKeys,
      },
      { makeDefault: opts.makeDefault ?? false, lkpCommand },
    );
    report(
      opts,
      {
        profile: name,
        default: result.config.default,
        ca: transport.where,
        serverId: info.ServerId,
        caPublicKeys: info.CaPublicKeys,
        files: [paths.config, paths.knownHosts, paths.sshConfig, paths.userSshConfig],
      },
      [
        `lkp profile "${name}" uses the CA at ${transport.where} (${info.ServerId}, ${info.CaPublicKeys.length} CA key(s))`,
        `wrote ${paths.config}, ${paths.knownHosts}, ${paths.sshConfig}`,
        result.includeAdded
          ? `added an Include line at the top of ${paths.userSshConfig}`
          : `${paths.userSshConfig} already includes lkp`,
        `try: ssh ${opts.defaultUser}@i-0123456789abcdef0   (or lkp ssh <Name tag>)`,
      ].join('\n'),
    );
  });

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
