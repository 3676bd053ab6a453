import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';

export interface CaUrlOptions {
  ca?: string;
}

/** `--ca <url>`, defaulting to LKP_CA_URL: the CA's HTTP endpoint (`lkp-ca serve` or a Function URL). */
export function caUrlOption(command: Command): Command {
  return command.addOption(new Option('--ca <url>', 'CA endpoint URL').env('LKP_CA_URL'));
}

export function resolveCaUrl(opts: CaUrlOptions): string {
  if (!opts.ca) throw new CliError('no CA given', EXIT.usage, 'pass --ca <url> or set LKP_CA_URL');
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
