/**
 * Environment → validated, frozen configuration, once per cold start (DESIGN §7, §5).
 * Every problem is collected so an admin fixes them all in one go.
 */

export type CaKeySpec = { kind: 'file'; path: string } | { kind: 'kms'; keyId: string };

export interface CaConfig {
  caKey: CaKeySpec;
  serverId: string;
  /** Policy function name or ARN; undefined → the built-in policy (DESIGN §3.4). */
  authorizationLambda: string | undefined;
  allowedAccounts: readonly string[];
  region: string;
  partition: 'aws' | 'aws-cn' | 'aws-us-gov';
  /** Origin of the only STS endpoint the CA forwards proofs to, without a trailing slash. */
  stsEndpoint: string;
  userCertTtlSeconds: number;
  hostCertTtlSeconds: number;
  clockSkewSeconds: number;
  policyTimeoutMs: number;
  /** The CA's own account (LKP_CA_ACCOUNT, or the Lambda context); undefined when unknown. */
  caAccount: string | undefined;
  /** `own`: a user request's target must exist when it is in the CA's account; `off`: never checked. */
  verifyTargets: 'own' | 'off';
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

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const SERVER_ID = /^[A-Za-z0-9._:/-]{1,128}$/;
const LAMBDA_NAME =
  /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;
const KMS_KEY = /^[A-Za-z0-9:/_.-]{1,2048}$/;

/** Ranges are wide enough for real use and narrow enough to catch a unit mistake (ms for s). */
const LIMITS = {
  LKP_USER_CERT_TTL: { def: 3600, min: 60, max: 7 * 86400 },
  LKP_HOST_CERT_TTL: { def: 30 * 86400, min: 3600, max: 366 * 86400 },
  LKP_CLOCK_SKEW: { def: 300, min: 5, max: 900 },
  LKP_POLICY_TIMEOUT_MS: { def: 5000, min: 100, max: 60_000 },
} as const;

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  ctx: ConfigContext = {},
): Readonly<CaConfig> {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };

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

  const region = get('AWS_REGION') ?? '';
  if (!region) problems.push('AWS_REGION is required (the region of the STS endpoint callers sign for)');
  else if (!REGION.test(region)) problems.push(`AWS_REGION "${region}" is not a region name like us-east-1`);
  const partition = partitionOf(region);

  const stsEndpoint = parseStsEndpoint(get('AWS_ENDPOINT_URL_STS'), region, partition, problems);

  const config: CaConfig = {
    caKey,
    serverId,
    authorizationLambda,
    allowedAccounts,
    region,
    partition,
    stsEndpoint,
    userCertTtlSeconds: integer('LKP_USER_CERT_TTL'),
    hostCertTtlSeconds: integer('LKP_HOST_CERT_TTL'),
    clockSkewSeconds: integer('LKP_CLOCK_SKEW'),
    policyTimeoutMs: integer('LKP_POLICY_TIMEOUT_MS'),
    caAccount,
    verifyTargets: verifyTargets === 'off' ? 'off' : 'own',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...config, allowedAccounts: Object.freeze([...allowedAccounts]) });
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

export function partitionOf(region: string): CaConfig['partition'] {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * The one endpoint proofs are forwarded to (DESIGN §3.1). Plain http is refused except on
 * loopback (the local stack): a proof sent in clear to a remote host could be captured.
 */
function parseStsEndpoint(
  raw: string | undefined,
  region: string,
  partition: CaConfig['partition'],
  problems: string[],
): string {
  if (raw === undefined) return `https://sts.${region}.amazonaws.com${partition === 'aws-cn' ? '.cn' : ''}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`AWS_ENDPOINT_URL_STS is not a URL (got "${raw}")`);
    return '';
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    problems.push('AWS_ENDPOINT_URL_STS must use https (plain http only for a loopback stand-in)');
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== ''))
    problems.push('AWS_ENDPOINT_URL_STS must be a bare origin like https://sts.us-east-1.amazonaws.com');
  return url.origin;
}
