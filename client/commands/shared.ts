import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import type { CaTarget } from '../lib/certificates.js';
import { httpTransport, lambdaTransport } from '../lib/ca-transport.js';

export interface CaUrlOptions {
  ca?: string;
  function?: string;
  caRegion?: string;
}

/**
 * `--ca <url>` (LKP_CA_URL): the CA's HTTP endpoint (`lkp-ca serve` or a Function URL), or
 * `--function <name>` (LKP_CA_FUNCTION) with `--ca-region`: the CA Lambda, invoked directly.
 */
export function caUrlOption(command: Command): Command {
  return command
    .addOption(new Option('--ca <url>', 'CA endpoint URL').env('LKP_CA_URL'))
    .addOption(
      new Option(
        '--function <name>',
        'CA Lambda function name or ARN, invoked with your AWS credentials',
      ).env('LKP_CA_FUNCTION'),
    )
    .addOption(
      new Option('--ca-region <region>', 'region of --function (default: AWS_REGION)').env('AWS_REGION'),
    );
}

export interface ResolvedCa {
  target: CaTarget;
  /** The same choice as command-line arguments, for a job that runs lkp again (renewal). */
  args: string[];
}

export function resolveCa(opts: CaUrlOptions): ResolvedCa {
  if (opts.function) {
    if (!opts.caRegion)
      throw new CliError(
        `--function ${opts.function} needs a region`,
        EXIT.usage,
        'pass --ca-region or set AWS_REGION',
      );
    return {
      target: lambdaTransport(opts.function, opts.caRegion),
      args: ['--function', opts.function, '--ca-region', opts.caRegion],
    };
  }
  const url = resolveCaUrl(opts);
  return { target: httpTransport(url), args: ['--ca', url] };
}

function resolveCaUrl(opts: CaUrlOptions): string {
  if (!opts.ca)
    throw new CliError('no CA given', EXIT.usage, 'pass --ca <url> or --function <name>, or set LKP_CA_URL');
  try {
    new URL(opts.ca);
  } catch {
    throw new CliError(
      `--ca "${opts.ca}" is not a URL`,
      EXIT.usage,
      'for example --ca https://abc.lambda-url.us-east-1.on.aws/',
    );
  }
  return opts.ca;
}
