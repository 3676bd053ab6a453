/**
 * `lkp open <[user@]instance ARN>`: a network lease without keeping a certificate. It asks for a
 * user certificate as usual, for a throwaway key: when the policy answers with `Ingress`, the CA
 * opens the security group to this machine's address (as AWS observed it) until the certificate
 * would expire (docs/access-policy.md, "Network access leases"). The certificate is discarded.
 */
import { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

interface OpenOptions extends CaUrlOptions {
  json?: boolean;
}

/** The lease as the CA reports it in the certificate response (`Ingress`). */
export interface OpenedLease {
  SecurityGroupId: string;
  Cidr: string;
  Ports: number[];
  Until: number;
}

const TARGET =
  /^(?:([a-z_][a-z0-9._-]{0,31})@)?(arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:instance\/i-[0-9a-f]{8,17})$/;

export const openCommand = caUrlOption(
  new Command('open')
    .description("open the policy's security group to this machine's address, without keeping a certificate")
    .argument('<target>', '[user@]<instance ARN>; user defaults to ec2-user')
    .option('--json', 'print the lease as JSON')
    .addHelpText(
      'after',
      `
The policy decides the group, the ports and (with the certificate lifetime) how long; the CA
takes the address from the connection, so call it through its Function URL. \`lkp ssh\` does the
same on its own whenever the policy asks for a lease.

Example:
  lkp open ec2-user@arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0`,
    ),
).action(async (target: string, opts: OpenOptions, command: Command) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const [{ fetchCaInfo, requestCertificate }, { generateEd25519 }] = await Promise.all([
    import('../lib/certificates.js'),
    import('../lib/keys.js'),
  ]);
  const resolved = resolveCa(opts, command);
  const ca = resolved.transport;
  const [, user = 'ec2-user', instanceArn] = TARGET.exec(target) ?? [];
  if (instanceArn === undefined)
    throw new CliError(
      `"${target}" is not [user@]<instance ARN>`,
      EXIT.usage,
      'for example ec2-user@arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0',
    );
  const credentials = await resolved.credentials();
  const info = await fetchCaInfo(ca);
  const answer = await requestCertificate(ca, info, credentials, {
    Kind: 'User',
    // A key whose private half is never kept: the certificate is not used.
    PublicKey: generateEd25519('lkp-open').publicKey,
    RemoteInstanceArn: instanceArn,
    SshUsername: user,
  });
  const lease = leaseOf(answer);
  if (lease === undefined)
    throw new CliError(
      `the policy grants ${user}@${instanceArn} no network lease`,
      EXIT.denied,
      'a lease needs "Ingress" in the policy answer (docs/access-policy.md)',
    );
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(lease, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `opened ${lease.SecurityGroupId} to ${lease.Cidr} on tcp ${lease.Ports.join(', ')} until ${new Date(lease.Until * 1000).toISOString()}\n`,
  );
});

/** The response's `Ingress`, checked field by field: it comes over the network. */
export function leaseOf(answer: object): OpenedLease | undefined {
  const ingress: unknown = 'Ingress' in answer ? answer.Ingress : undefined;
  if (typeof ingress !== 'object' || ingress === null) return undefined;
  const { SecurityGroupId, Cidr, Ports, Until } = ingress as Record<string, unknown>;
  if (
    typeof SecurityGroupId !== 'string' ||
    typeof Cidr !== 'string' ||
    !Array.isArray(Ports) ||
    !Ports.every((p): p is number => Number.isInteger(p)) ||
    typeof Until !== 'number'
  )
    return undefined;
  return { SecurityGroupId, Cidr, Ports, Until };
}
