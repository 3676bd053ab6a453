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
import { dynamoDbClient } from './aws/dynamodb-json.js';
import { splitKeyLine } from './cert/keys.js';
import { lockService, type LockService } from './locks/service.js';
import { dynamoDbLockStore } from './locks/store.js';
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
    region: config.stsRegion,
    serverId: config.serverId,
    clockSkewSeconds: config.clockSkewSeconds,
    allowedAccounts: config.allowedAccounts,
  };
  if (config.caAccount === undefined)
    note('LKP_CA_ACCOUNT is unknown: host names are not confirmed against EC2 and targets are not checked');
  if (config.locksTable === undefined)
    note('LKP_LOCKS_TABLE is not set: nothing can be locked and hosts get no revocation list');
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
      ? {
          groupMembers: iamGroupMembers({
            partition: config.partition,
            maxAgeSeconds: config.accounts.membersMaxAgeSeconds,
          }),
        }
      : {}),
    ...(config.locksTable !== undefined ? { locks: locksOf(config, signer) } : {}),
    audit,
  });
  return { ca, config, signer };
}

/** DESIGN §8: locks read from LKP_LOCKS_TABLE; the KRL revokes certificates of the signing key. */
function locksOf(config: CaConfig, signer: Signer): LockService {
  const table = config.locksTable ?? '';
  const db = dynamoDbClient({ region: config.region, maxAttempts: 2 });
  return lockService(dynamoDbLockStore(table, db), {
    caKeys: [splitKeyLine(signer.publicKey, 'CA public key').blob],
    ownInstanceArn: (id) =>
      config.caAccount === undefined
        ? undefined
        : `arn:${config.partition}:ec2:${config.region}:${config.caAccount}:instance/${id}`,
  });
}

function choosePolicy(config: CaConfig): Policy {
  if (config.authorizationLambda !== undefined)
    return lambdaPolicy(config.authorizationLambda, config.policyTimeoutMs);
  note(builtinPolicyLine(config));
  return builtinPolicy({
    allowedAccounts: config.allowedAccounts,
    allow: config.allow,
    personalAccounts: config.personalAccounts,
    admins: config.admins,
  });
}

/** The start-up line: what the built-in policy grants, so an admin sees at once when it is nothing. */
export function builtinPolicyLine(
  config: Pick<CaConfig, 'allow' | 'allowedAccounts' | 'personalAccounts'>,
): string {
  if (config.allow.length === 0)
    return 'no AUTHORIZATION_LAMBDA and no LKP_ALLOW: the built-in policy grants NO user certificates (name who may log in with LKP_ALLOW, docs/deploy.md)';
  const rules = config.allow.map((r) => `${r.pattern} as ${r.logins.join(',')}`).join('; ');
  return (
    `no AUTHORIZATION_LAMBDA: the built-in policy lets only ${rules} log in, to instances in accounts ${config.allowedAccounts.join(', ')}` +
    (config.personalAccounts ? ', and only as their personal account (LKP_PERSONAL_ACCOUNTS)' : '') +
    ', with principal <user>@<instance ARN>'
  );
}
