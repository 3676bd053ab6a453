/**
 * Environment → validated, frozen configuration, once per cold start (DESIGN §7, §5).
 * Every problem is collected so an admin fixes them all in one go.
 */
import { type AllowRule, parseAllowRules } from './authorize/allow.js';
import { parseAccountsConfig, type AccountsConfig } from './accounts/config.js';
import {
  EC2_RULE,
  EndpointConfigError,
  IAM_RULE,
  KMS_RULE,
  LAMBDA_RULE,
  resolveEndpoint,
  STS_RULE,
  stsSigningRegionOfHost,
  supportedPartition,
  type ServiceEndpointRule,
  type SupportedPartition,
} from './aws/endpoints.js';

export type CaKeySpec = { kind: 'file'; path: string } | { kind: 'kms'; keyId: string };

export interface CaConfig {
  caKey: CaKeySpec;
  serverId: string;
  /** Policy function name or ARN; undefined → the built-in policy (DESIGN §3.4). */
  authorizationLambda: string | undefined;
  allowedAccounts: readonly string[];
  region: string;
  partition: SupportedPartition;
  /** Origin of the only STS endpoint the CA forwards proofs to, without a trailing slash. */
  stsEndpoint: string;
  /** The region proofs must be signed for: the one STS needs at stsEndpoint (us-east-1 at sts.amazonaws.com). */
  stsRegion: string;
  userCertTtlSeconds: number;
  hostCertTtlSeconds: number;
  clockSkewSeconds: number;
  /** LKP_VOUCHER_MAX_AGE: how long after signing a voucher is accepted (DESIGN §3.2 Vouchers). */
  voucherMaxAgeSeconds: number;
  policyTimeoutMs: number;
  /** The CA's own account (LKP_CA_ACCOUNT, or the Lambda context); undefined when unknown. */
  caAccount: string | undefined;
  /** `own`: a user request's target must exist when it is in the CA's account; `off`: never checked. */
  verifyTargets: 'own' | 'off';
  /** LKP_PERSONAL_ACCOUNTS: the built-in policy signs only for the caller's own mapped account name. */
  personalAccounts: boolean;
  /** LKP_ALLOW: who may log in as which logins under the built-in policy; empty → nobody (DESIGN §3.4). */
  allow: readonly AllowRule[];
  /** Network access leases (docs/access-policy.md, "Network access leases"). */
  ingress: IngressConfig;
  /** Unix accounts for hosts (docs/architecture.md, "Unix accounts"); undefined → none managed. */
  accounts: AccountsConfig | undefined;
  /** LKP_LOCKS_TABLE: the DynamoDB table of locks (DESIGN §8); undefined → no locks, no revocation list. */
  locksTable: string | undefined;
  /** LKP_ADMINS: ARN patterns (`*` = any characters) the built-in policy allows admin actions. */
  admins: readonly string[];
}

export interface IngressConfig {
  /** LKP_INGRESS_GROUPS: the only security groups a policy may ask the CA to open; empty → none. */
  groups: readonly string[];
  /** LKP_INGRESS_DEFAULT_PORTS: the ports of a lease whose policy names none; default [22]. */
  defaultPorts: readonly number[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid lkp CA configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface ConfigContext {
  /** The CA's own AWS account, when known (inside Lambda); the default for LKP_ALLOWED_ACCOUNTS. */
  ownAccount?: string;
}

const ACCOUNT = /^\d{12}$/;
const SERVER_ID = /^[A-Za-z0-9._:/-]{1,128}$/;
const LAMBDA_NAME =
  /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;
const ARN_PARTITION_REGION = /^arn:([a-z-]+):[a-z]+:([a-z0-9-]+):/;
const KMS_KEY = /^[A-Za-z0-9:/_.-]{1,2048}$/;
const SECURITY_GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const PORT = /^[1-9][0-9]{0,4}$/;
/** A DynamoDB table name, or its ARN. */
const TABLE = /^(arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/)?[A-Za-z0-9_.-]{3,255}$/;
const ADMIN_PATTERN = /^arn:(\*|aws|aws-cn|aws-us-gov):[\x21-\x7e]{1,1000}$/;
/** As many as a policy may name (src/authorize/response.ts); every port is one rule per caller. */
const MAX_LEASE_PORTS = 8;

/** Ranges are wide enough for real use and narrow enough to catch a unit mistake (ms for s). */
const LIMITS = {
  LKP_USER_CERT_TTL: { def: 3600, min: 60, max: 7 * 86400 },
  LKP_HOST_CERT_TTL: { def: 30 * 86400, min: 3600, max: 366 * 86400 },
  LKP_CLOCK_SKEW: { def: 300, min: 5, max: 900 },
  LKP_VOUCHER_MAX_AGE: { def: 900, min: 60, max: 3600 },
  LKP_POLICY_TIMEOUT_MS: { def: 5000, min: 100, max: 60_000 },
} as const;

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  ctx: ConfigContext = {},
): Readonly<CaConfig> {
  const problems: string[] = [];
  const get = envReader(env);

  const integer = (name: keyof typeof LIMITS): number => {
    const { def, min, max } = LIMITS[name];
    const raw = get(name);
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return Number(raw);
  };

  const caKey = parseCaKey(get('LKP_CA_KEY'), problems);

  const serverId = get('LKP_SERVER_ID') ?? '';
  if (!serverId)
    problems.push(
      'LKP_SERVER_ID is required: a name for this CA that clients bind into their proofs, e.g. "lkp.example.com"',
    );
  else if (!SERVER_ID.test(serverId))
    problems.push('LKP_SERVER_ID may use only letters, digits and . _ : / - (at most 128)');

  const authorizationLambda = get('AUTHORIZATION_LAMBDA');
  if (authorizationLambda !== undefined && !LAMBDA_NAME.test(authorizationLambda))
    problems.push(
      `AUTHORIZATION_LAMBDA must be a Lambda function name or ARN (got "${authorizationLambda}")`,
    );

  const caAccount = get('LKP_CA_ACCOUNT') ?? ctx.ownAccount;
  if (caAccount !== undefined && !ACCOUNT.test(caAccount))
    problems.push(`LKP_CA_ACCOUNT must be a 12-digit account id (got "${caAccount}")`);
  const allowedAccounts = parseAccounts(get('LKP_ALLOWED_ACCOUNTS'), caAccount, problems);

  const verifyTargets = get('LKP_VERIFY_TARGETS') ?? 'own';
  if (verifyTargets !== 'own' && verifyTargets !== 'off')
    problems.push(`LKP_VERIFY_TARGETS must be "own" or "off" (got "${verifyTargets}")`);

  const personalAccounts = get('LKP_PERSONAL_ACCOUNTS') ?? 'false';
  if (personalAccounts !== 'true' && personalAccounts !== 'false')
    problems.push(`LKP_PERSONAL_ACCOUNTS must be "true" or "false" (got "${personalAccounts}")`);
  else if (personalAccounts === 'true' && authorizationLambda !== undefined)
    problems.push(
      'LKP_PERSONAL_ACCOUNTS applies to the built-in policy only: with AUTHORIZATION_LAMBDA, call ownsAccount(req) in the policy',
    );

  const rawAllow = get('LKP_ALLOW');
  const allow = rawAllow === undefined ? [] : parseAllowRules(rawAllow, problems);
  if (rawAllow !== undefined && authorizationLambda !== undefined)
    problems.push(
      'LKP_ALLOW applies to the built-in policy only: with AUTHORIZATION_LAMBDA, the policy function decides who may log in',
    );

  const region = get('AWS_REGION') ?? '';
  const partition = parseRegion(region, problems);
  const sts = parseStsEndpoint(get('AWS_ENDPOINT_URL_STS'), partition && region, env, problems);
  const kmsKey = caKey.kind === 'kms' ? caKey.keyId : undefined;
  if (partition !== undefined)
    checkAwsEndpoints(env, region, partition, [authorizationLambda, kmsKey], problems);

  const config: CaConfig = {
    caKey,
    serverId,
    authorizationLambda,
    allowedAccounts,
    region,
    partition: partition ?? 'aws',
    stsEndpoint: sts.endpoint,
    stsRegion: sts.region,
    userCertTtlSeconds: integer('LKP_USER_CERT_TTL'),
    hostCertTtlSeconds: integer('LKP_HOST_CERT_TTL'),
    clockSkewSeconds: integer('LKP_CLOCK_SKEW'),
    voucherMaxAgeSeconds: integer('LKP_VOUCHER_MAX_AGE'),
    policyTimeoutMs: integer('LKP_POLICY_TIMEOUT_MS'),
    caAccount,
    verifyTargets: verifyTargets === 'off' ? 'off' : 'own',
    personalAccounts: personalAccounts === 'true',
    allow,
    ingress: parseIngress(get, problems),
    accounts: parseAccountsConfig(get, problems),
    locksTable: get('LKP_LOCKS_TABLE'),
    admins: parseAdmins(get('LKP_ADMINS'), problems),
  };
  if (config.locksTable !== undefined && !TABLE.test(config.locksTable))
    problems.push(`LKP_LOCKS_TABLE must be a DynamoDB table name or ARN (got "${config.locksTable}")`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...config,
    allowedAccounts: Object.freeze([...allowedAccounts]),
    allow: Object.freeze(allow.map((r) => Object.freeze({ ...r, logins: Object.freeze([...r.logins]) }))),
    admins: Object.freeze([...config.admins]),
  });
}

/**
 * Only the lease settings: what the sweeper function needs (src/sweeper-handler.ts), which has no
 * CA key and signs nothing. Same variables, same checks as loadConfig.
 */
export function loadIngressConfig(env: NodeJS.ProcessEnv = process.env): IngressConfig {
  const problems: string[] = [];
  const ingress = parseIngress(envReader(env), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return ingress;
}

/** A trimmed variable; empty counts as unset (serverless.yml writes empty parameters as ""). */
function envReader(env: NodeJS.ProcessEnv): (name: string) => string | undefined {
  return (name) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
}

function parseIngress(get: (name: string) => string | undefined, problems: string[]): IngressConfig {
  const rawGroups = get('LKP_INGRESS_GROUPS');
  const groups = rawGroups === undefined ? [] : [...new Set(rawGroups.split(',').map((g) => g.trim()))];
  const badGroups = groups.filter((g) => !SECURITY_GROUP_ID.test(g));
  if (badGroups.length > 0)
    problems.push(
      `LKP_INGRESS_GROUPS has values that are not security group ids (sg-0123456789abcdef0): ${badGroups.map((g) => `"${g}"`).join(', ')}`,
    );

  const rawPorts = get('LKP_INGRESS_DEFAULT_PORTS') ?? '22';
  const ports = rawPorts.split(',').map((p) => p.trim());
  const numbers = ports.map(Number);
  if (
    ports.some((p) => !PORT.test(p)) ||
    numbers.some((n) => n > 65535) ||
    new Set(numbers).size !== numbers.length ||
    numbers.length > MAX_LEASE_PORTS
  )
    problems.push(
      `LKP_INGRESS_DEFAULT_PORTS must be 1 to ${MAX_LEASE_PORTS} distinct port numbers (1-65535), comma-separated (got "${rawPorts}")`,
    );
  return Object.freeze({
    groups: Object.freeze(groups),
    defaultPorts: Object.freeze([...numbers].sort((a, b) => a - b)),
  });
}

function parseAdmins(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const admins = [...new Set(raw.split(',').map((a) => a.trim()))];
  const bad = admins.filter((a) => !ADMIN_PATTERN.test(a));
  if (bad.length > 0)
    problems.push(
      `LKP_ADMINS must be comma-separated IAM/STS ARNs, * for any characters (e.g. arn:aws:sts::111122223333:assumed-role/Admin/*); bad: ${bad.map((a) => `"${a}"`).join(', ')}`,
    );
  return admins;
}

function parseCaKey(raw: string | undefined, problems: string[]): CaKeySpec {
  const fallback: CaKeySpec = { kind: 'file', path: '' };
  if (raw === undefined) {
    problems.push(
      'LKP_CA_KEY is required: kms:<key id, ARN or alias> or file:<path to an OpenSSH private key>',
    );
    return fallback;
  }
  const [scheme, ...rest] = raw.split(':');
  const value = rest.join(':');
  if (scheme === 'file' && value) return { kind: 'file', path: value };
  if (scheme === 'kms' && KMS_KEY.test(value)) return { kind: 'kms', keyId: value };
  problems.push(`LKP_CA_KEY must be kms:<key id, ARN or alias> or file:<path> (got "${raw}")`);
  return fallback;
}

function parseAccounts(
  raw: string | undefined,
  ownAccount: string | undefined,
  problems: string[],
): string[] {
  if (raw === undefined) {
    if (ownAccount !== undefined) return [ownAccount];
    problems.push(
      'LKP_ALLOWED_ACCOUNTS is required outside Lambda (or set LKP_CA_ACCOUNT): comma-separated 12-digit account ids',
    );
    return [];
  }
  const accounts = [...new Set(raw.split(',').map((a) => a.trim()))];
  const bad = accounts.filter((a) => !ACCOUNT.test(a));
  if (bad.length > 0)
    problems.push(`LKP_ALLOWED_ACCOUNTS has values that are not 12-digit account ids: ${bad.join(', ')}`);
  return accounts;
}

/** AWS_REGION: a region of a partition lkp supports, per the SDK's partitions data. */
function parseRegion(region: string, problems: string[]): SupportedPartition | undefined {
  if (!region) {
    problems.push('AWS_REGION is required (the region of the STS endpoint callers sign for)');
    return undefined;
  }
  try {
    if (region.endsWith('-global'))
      throw new EndpointConfigError(`"${region}" is not a region name like us-east-1`);
    return supportedPartition(region).id;
  } catch (e) {
    if (!(e instanceof EndpointConfigError)) throw e;
    problems.push(`AWS_REGION: ${e.message}`);
    return undefined;
  }
}

/**
 * Every AWS call the CA may make must have an endpoint, resolved now rather than at the first
 * request: FIPS / dual-stack settings the SDK would refuse, a policy function or KMS key ARN in a
 * partition lkp does not support or not the CA's.
 */
function checkAwsEndpoints(
  env: NodeJS.ProcessEnv,
  region: string,
  caPartition: SupportedPartition,
  arns: readonly (string | undefined)[],
  problems: string[],
): void {
  const calls: [ServiceEndpointRule, string][] = [
    [KMS_RULE, region],
    [LAMBDA_RULE, region],
    [EC2_RULE, region],
    [IAM_RULE, region],
  ];
  for (const arn of arns) {
    const [, arnPartition, arnRegion] = ARN_PARTITION_REGION.exec(arn ?? '') ?? [];
    if (arn === undefined || arnPartition === undefined || arnRegion === undefined) continue;
    try {
      const partition = supportedPartition(arnRegion).id;
      if (partition !== arnPartition || partition !== caPartition)
        problems.push(
          `${arn}: its region ${arnRegion} is in partition ${partition}, the ARN names ${arnPartition} and the CA runs in ${caPartition}; a call cannot cross partitions`,
        );
      calls.push([arn.includes(':lambda:') ? LAMBDA_RULE : KMS_RULE, arnRegion]);
    } catch (e) {
      if (!(e instanceof EndpointConfigError)) throw e;
      problems.push(`${arn}: ${e.message}`);
    }
  }
  for (const [rule, callRegion] of calls) {
    try {
      resolveEndpoint(rule, callRegion, env);
    } catch (e) {
      if (!(e instanceof EndpointConfigError)) throw e;
      if (!problems.includes(e.message)) problems.push(e.message);
    }
  }
}

/**
 * The one endpoint proofs are forwarded to (DESIGN §3.1). Plain http is refused except on
 * loopback (the local stack): a proof sent in clear to a remote host could be captured.
 */
function parseStsEndpoint(
  raw: string | undefined,
  /** Undefined when AWS_REGION is missing or refused (already a problem). */
  region: string | undefined,
  env: NodeJS.ProcessEnv,
  problems: string[],
): { endpoint: string; region: string } {
  const variant = { fips: env['AWS_USE_FIPS_ENDPOINT'], dualStack: env['AWS_USE_DUALSTACK_ENDPOINT'] };
  if (raw === undefined) {
    if (region === undefined) return { endpoint: '', region: '' };
    try {
      // Only AWS_ENDPOINT_URL_STS names the STS endpoint (DESIGN §7), not the catch-all AWS_ENDPOINT_URL.
      const resolved = resolveEndpoint(STS_RULE, region, {
        ...env,
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
      });
      return { endpoint: resolved.url, region: resolved.signingRegion };
    } catch (e) {
      if (!(e instanceof EndpointConfigError)) throw e;
      problems.push(e.message);
      return { endpoint: '', region };
    }
  }
  if (variant.fips === 'true' || variant.dualStack === 'true')
    problems.push(
      `AWS_ENDPOINT_URL_STS cannot be combined with ${variant.fips === 'true' ? 'AWS_USE_FIPS_ENDPOINT' : 'AWS_USE_DUALSTACK_ENDPOINT'}=true (the SDK refuses both): name the FIPS or dual-stack STS host in AWS_ENDPOINT_URL_STS, or unset it`,
    );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`AWS_ENDPOINT_URL_STS is not a URL (got "${raw}")`);
    return { endpoint: '', region: region ?? '' };
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    problems.push('AWS_ENDPOINT_URL_STS must use https (plain http only for a loopback stand-in)');
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== ''))
    problems.push('AWS_ENDPOINT_URL_STS must be a bare origin like https://sts.us-east-1.amazonaws.com');
  // One of STS's own hosts is signed for the region it serves (the global sts.amazonaws.com: us-east-1);
  // any other (a stand-in, a VPC endpoint) for AWS_REGION.
  return { endpoint: url.origin, region: stsSigningRegionOfHost(url.host) ?? region ?? '' };
}
