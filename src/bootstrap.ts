/**
 * Composition root: configuration → signer → policy → EC2 lookups → the pipeline. Shared by
 * `lkp-ca serve` and the Lambda handler, so both run the same CA from the same environment.
 */
import { iamGroupMembers } from './accounts/iam-groups.js';
import { stdoutAudit, type AuditSink } from './audit.js';
import { builtinPolicy } from './authorize/builtin.js';
import { lambdaPolicy } from './authorize/lambda-policy.js';
import type { Policy } from './authorize/policy.js';
import { createCa, type Ca } from './ca.js';
import { loadConfig, type CaConfig, type ConfigContext } from './config.js';
import { ec2Directory } from './ec2.js';
import { verifyIdentity } from './identity/index.js';
import { ec2LeaseManager } from './ingress/index.js';
import { loadSigner } from './signer/index.js';
import type { Signer } from './signer/signer.js';

export interface Bootstrapped {
  ca: Ca;
  config: Readonly<CaConfig>;
  signer: Signer;
}

/** Operator notes go to stderr, apart from the audit lines on stdout. */
const note = (line: string) => process.stderr.write(`lkp-ca: ${line}\n`);

export async function bootstrapCa(
  env: NodeJS.ProcessEnv = process.env,
  ctx: ConfigContext = {},
  audit: AuditSink = stdoutAudit,
): Promise<Bootstrapped> {
  const config = loadConfig(env, ctx);
  const signer = await loadSigner(config.caKey);
  const identity = {
    stsEndpoint: config.stsEndpoint,
    region: config.region,
    serverId: config.serverId,
    clockSkewSeconds: config.clockSkewSeconds,
    allowedAccounts: config.allowedAccounts,
  };
  if (config.caAccount === undefined)
    note('LKP_CA_ACCOUNT is unknown: host names are not confirmed against EC2 and targets are not checked');
  const ca = createCa({
    config,
    signer,
    policy: choosePolicy(config),
    verifyIdentity: (proof, fingerprint, now) => verifyIdentity(proof, fingerprint, identity, now),
    ...(config.caAccount !== undefined ? { instances: ec2Directory({ caAccount: config.caAccount }) } : {}),
    ...(config.ingress.groups.length > 0
      ? {
          leases: ec2LeaseManager({
            allowedGroups: config.ingress.groups,
            defaultPorts: config.ingress.defaultPorts,
          }),
        }
      : {}),
    ...(config.accounts !== undefined
      ? { groupMembers: iamGroupMembers({ partition: config.partition }) }
      : {}),
    audit,
  });
  return { ca, config, signer };
}

function choosePolicy(config: CaConfig): Policy {
  if (config.authorizationLambda !== undefined)
    return lambdaPolicy(config.authorizationLambda, config.policyTimeoutMs);
  note(
    `no AUTHORIZATION_LAMBDA: the built-in policy lets callers from accounts ${config.allowedAccounts.join(', ')} ` +
      (config.personalAccounts
        ? 'log in to their instances only as their personal account (LKP_PERSONAL_ACCOUNTS)'
        : 'log in to their instances as any user named in the request') +
      ', with principal <user>@<instance ARN>',
  );
  return builtinPolicy(config.allowedAccounts, { personalAccounts: config.personalAccounts });
}
