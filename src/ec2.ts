/**
 * EC2 lookups for the CA (DESIGN §3.4): which requested host names belong to an instance, which
 * role its instance profile holds, and whether a login target exists. The only module that calls
 * EC2 (and IAM, for instance profiles). The CA looks only at instances in its own account, with its
 * own role; the clients honour AWS_ENDPOINT_URL_EC2 / _IAM (local stack, DESIGN §6).
 */
import { isIP } from 'node:net';
import { Ec2Error, ec2QueryClient, type Ec2QueryClient } from './aws/ec2-query.js';
import { IamError, iamQueryClient, type IamQueryClient } from './aws/iam-query.js';
import { QueryError } from './aws/query-client.js';
import { badRequest, forbidden, internal } from './errors.js';
import { INSTANCE_ARN } from './request.js';
import { childElement, childText, type XmlElement } from './xml.js';

export interface InstanceDirectory {
  /**
   * The requested names that belong to the instance: its private/public IPv4 and IPv6 addresses and
   * private/public DNS names (case-insensitive for DNS, canonical form for IPs), spelled as requested.
   * Unknown instance, or one in another account → [].
   */
  confirmHostNames(instanceArn: string, names: readonly string[]): Promise<string[]>;
  /** Returns when the instance exists (any state but terminated); throws Forbidden otherwise. Other accounts are not checked. */
  checkTargetExists(instanceArn: string): Promise<void>;
  /** The role of the instance's instance profile (EC2 DescribeInstances, then IAM GetInstanceProfile). */
  instanceRole(instanceArn: string): Promise<InstanceRole>;
}

/**
 * `unchecked`: the instance is in another account, which the CA's role cannot describe.
 * `none`: the instance has no role an instance could be speaking with (`reason` says why).
 */
export type InstanceRole =
  | { kind: 'unchecked' }
  | { kind: 'none'; reason: string }
  | { kind: 'role'; roleId: string; roleName: string };

interface InstanceTarget {
  partition: string;
  region: string;
  account: string;
  instanceId: string;
}

/** EC2 answers these for an id that names no instance in the account and region. */
const NOT_FOUND_CODES = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);
/** Instances whose addresses are being released or already are: their old names may belong to someone else now. */
const GONE_STATES = new Set(['shutting-down', 'terminated']);

/** `arn:<partition>:iam::<account>:instance-profile/<path/><name>`: the name is the last part. */
const INSTANCE_PROFILE_ARN =
  /^arn:[a-z-]+:iam::\d{12}:instance-profile\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,128})$/;

/**
 * A login target seen to exist is not looked up again for 5 minutes: EC2 refills an account's
 * DescribeInstances bucket at about 20 requests/s, shared with everything else in the account and
 * region, and a busy CA would otherwise spend one per certificate. An instance terminated within
 * the window can still be named in a certificate, which is harmless: its id is never reused.
 * Refusals are not remembered. Bounded, oldest forgotten first.
 */
const TARGET_KNOWN_MS = 5 * 60_000;
const TARGETS_KNOWN_MAX = 10_000;
/**
 * One DescribeInstances answer serves a host request's two checks (the instance profile's role,
 * then the names to confirm) and concurrent requests about the same instance: kept 2 seconds.
 */
const DESCRIPTION_KEPT_MS = 2_000;

// Bounded: a hung EC2 or IAM connection must not hold a certificate request until the Lambda
// timeout. (The clients' defaults: 3 s per attempt, 1 s to connect, 2 attempts.)
const defaultClient = (region: string) => ec2QueryClient({ region });
const defaultIamClient = (partition: string) => iamQueryClient({ partition });

export function ec2Directory(opts: {
  caAccount: string;
  /** One EC2 client per region. */
  clientFor?: (region: string) => Ec2QueryClient;
  /** One IAM client per partition (IAM is global). */
  iamClientFor?: (partition: string) => IamQueryClient;
  /** Milliseconds; for tests. */
  now?: () => number;
}): InstanceDirectory {
  const now = opts.now ?? Date.now;
  const lookup = instanceLookup(opts.clientFor ?? defaultClient);
  const descriptions = rememberResults<XmlElement | undefined>(DESCRIPTION_KEPT_MS, TARGETS_KNOWN_MAX, now);
  const describe = (target: InstanceTarget) => descriptions(targetKey(target), () => lookup(target));
  const profileRoles = instanceProfileLookup(opts.iamClientFor ?? defaultIamClient);
  const knownTargets = rememberResults<void>(TARGET_KNOWN_MS, TARGETS_KNOWN_MAX, now);

  /** The target when the CA may look it up: only its own account (the role cannot describe others). */
  const ownTarget = (instanceArn: string): InstanceTarget | undefined => {
    const target = parseInstanceArn(instanceArn);
    return target.account === opts.caAccount ? target : undefined;
  };

  return {
    async confirmHostNames(instanceArn, names) {
      const target = ownTarget(instanceArn);
      if (!target || names.length === 0) return [];
      const instance = await describe(target);
      // DESIGN §3.4: only names EC2 reports for a live instance are signed.
      if (!instance || GONE_STATES.has(stateName(instance))) return [];
      const owned = new Set(instanceNames(instance).map(nameKey));
      return [...new Set(names)].filter((name) => {
        const key = nameKey(name);
        return key !== undefined && owned.has(key);
      });
    },

    async checkTargetExists(instanceArn) {
      const target = ownTarget(instanceArn);
      // Cross-account targets are not checked: the CA's role cannot describe them (documented default).
      if (!target) return;
      await knownTargets(targetKey(target), async () => {
        const instance = await describe(target);
        if (!instance || stateName(instance) === 'terminated') {
          throw forbidden(`instance ${target.instanceId} does not exist in ${target.region}`);
        }
      });
    },

    async instanceRole(instanceArn) {
      const target = ownTarget(instanceArn);
      if (!target) return { kind: 'unchecked' };
      const instance = await describe(target);
      if (!instance || GONE_STATES.has(stateName(instance)))
        return { kind: 'none', reason: `instance ${target.instanceId} is not running in ${target.region}` };
      const profileArn = childText(childElement(instance, 'iamInstanceProfile'), 'arn');
      if (profileArn === undefined || profileArn === '')
        return { kind: 'none', reason: `instance ${target.instanceId} has no instance profile` };
      const [, profileName] = INSTANCE_PROFILE_ARN.exec(profileArn) ?? [];
      if (profileName === undefined)
        return { kind: 'none', reason: `EC2 reports an instance profile ARN the CA cannot read` };
      return profileRoles(target.partition, profileName);
    },
  };
}

const targetKey = (t: InstanceTarget) => `${t.partition}:${t.region}:${t.instanceId}`;

/**
 * Runs `produce` for `key` unless it succeeded within the last `ttlMs`, and then answers with that
 * result; callers asking about the same key while it runs share it (a burst of logins to one
 * instance makes one lookup). Failures are not kept. At most `max` keys, oldest dropped first.
 */
function rememberResults<T>(
  ttlMs: number,
  max: number,
  now: () => number,
): (key: string, produce: () => Promise<T>) => Promise<T> {
  const kept = new Map<string, { until: number; value: T }>();
  const running = new Map<string, Promise<T>>();
  return (key, produce) => {
    const hit = kept.get(key);
    if (hit !== undefined && hit.until > now()) return Promise.resolve(hit.value);
    kept.delete(key);
    const shared = running.get(key);
    if (shared) return shared;
    const run = produce()
      .then((value) => {
        if (kept.size >= max) kept.delete(kept.keys().next().value as string);
        kept.set(key, { until: now() + ttlMs, value });
        return value;
      })
      .finally(() => running.delete(key));
    running.set(key, run);
    return run;
  };
}

/**
 * Clients created lazily, one per key. A client is kept only once its service has answered
 * through it, so regions that exist only in callers' ARNs cannot grow the cache.
 */
function cachedClients<C extends { destroy(): void }>(
  create: (key: string) => C,
): <T>(key: string, use: (client: C) => Promise<T>) => Promise<T> {
  const clients = new Map<string, C>();
  const keep = (key: string, client: C) => {
    const cached = clients.get(key);
    if (cached === undefined) clients.set(key, client);
    else if (cached !== client) client.destroy();
  };
  return async (key, use) => {
    const client = clients.get(key) ?? create(key);
    try {
      const out = await use(client);
      keep(key, client);
      return out;
    } catch (e) {
      if (e instanceof QueryError) keep(key, client);
      else if (clients.get(key) !== client) client.destroy();
      throw e;
    }
  };
}

/** DescribeInstances for one id, with one client per region. */
function instanceLookup(
  clientFor: (region: string) => Ec2QueryClient,
): (target: InstanceTarget) => Promise<XmlElement | undefined> {
  const withClient = cachedClients(clientFor);
  return async ({ region, instanceId }) => {
    try {
      const out = await withClient(region, (client) =>
        client.call('DescribeInstances', { InstanceId: [instanceId] }),
      );
      return items(out, 'reservationSet')
        .flatMap((r) => items(r, 'instancesSet'))
        .find((i) => childText(i, 'instanceId') === instanceId);
    } catch (e) {
      if (e instanceof Ec2Error && NOT_FOUND_CODES.has(e.code)) return undefined;
      throw lookupFailed(instanceId, region, e);
    }
  };
}

/**
 * GetInstanceProfile, with one client per partition. An instance profile holds at most one role
 * (an IAM limit); anything else is not a role the CA can match a caller against.
 */
function instanceProfileLookup(
  clientFor: (partition: string) => IamQueryClient,
): (partition: string, profileName: string) => Promise<InstanceRole> {
  const withClient = cachedClients(clientFor);
  return async (partition, profileName) => {
    let out: XmlElement;
    try {
      out = await withClient(partition, (client) =>
        client.call('GetInstanceProfile', { InstanceProfileName: profileName }),
      );
    } catch (e) {
      if (e instanceof IamError && e.code === 'NoSuchEntity')
        return { kind: 'none', reason: `its instance profile ${profileName} does not exist` };
      const reason = e instanceof IamError ? e.code : 'no answer';
      throw internal(
        `could not read instance profile ${profileName} (IAM GetInstanceProfile: ${reason}); ` +
          'the CA role needs iam:GetInstanceProfile and a route to the IAM endpoint',
        e,
      );
    }
    const profile = childElement(childElement(out, 'GetInstanceProfileResult'), 'InstanceProfile');
    const roles = childElement(profile, 'Roles')?.children.filter((c) => c.name === 'member') ?? [];
    const [role] = roles;
    const roleId = childText(role, 'RoleId');
    const roleName = childText(role, 'RoleName');
    if (roles.length !== 1 || !roleId || !roleName)
      return { kind: 'none', reason: `its instance profile ${profileName} holds no role` };
    return { kind: 'role', roleId, roleName };
  };
}

/**
 * Internal: the CA cannot decide, so it denies (DESIGN §5). The message names the fix and the
 * error code, never EC2's text (an UnauthorizedOperation carries an encoded policy message).
 */
function lookupFailed(instanceId: string, region: string, e: unknown) {
  const reason = e instanceof Ec2Error ? e.code : 'no answer';
  return internal(
    `could not look up instance ${instanceId} in ${region} (EC2 DescribeInstances: ${reason}); ` +
      'the CA role needs ec2:DescribeInstances and a route to the EC2 endpoint',
    e,
  );
}

function parseInstanceArn(instanceArn: string): InstanceTarget {
  const [, partition, region, account, instanceId] = INSTANCE_ARN.exec(instanceArn) ?? [];
  if (partition === undefined || region === undefined || account === undefined || instanceId === undefined) {
    throw badRequest('not an EC2 instance ARN: expected arn:aws:ec2:<region>:<account>:instance/i-…');
  }
  return { partition, region, account, instanceId };
}

const stateName = (i: XmlElement) => childText(childElement(i, 'instanceState'), 'name') ?? '';

/** The items of an EC2 list element (`<reservationSet><item>…</item></reservationSet>`). */
const items = (parent: XmlElement | undefined, set: string): XmlElement[] =>
  childElement(parent, set)?.children.filter((c) => c.name === 'item') ?? [];

/** Every address and DNS name EC2 reports for the instance, across all its network interfaces. */
function instanceNames(i: XmlElement): string[] {
  // Query API names: ipAddress is PublicIpAddress, dnsName PublicDnsName.
  const names = ['privateIpAddress', 'ipAddress', 'privateDnsName', 'dnsName', 'ipv6Address'].map((n) =>
    childText(i, n),
  );
  const addressNames = (el: XmlElement) => {
    const association = childElement(el, 'association');
    names.push(
      childText(el, 'privateIpAddress'),
      childText(el, 'privateDnsName'),
      childText(association, 'publicIp'),
      childText(association, 'publicDnsName'),
    );
  };
  for (const nic of items(i, 'networkInterfaceSet')) {
    addressNames(nic);
    items(nic, 'privateIpAddressesSet').forEach(addressNames);
    for (const ip of items(nic, 'ipv6AddressesSet')) names.push(childText(ip, 'ipv6Address'));
  }
  // EC2 reports a missing DNS name as "".
  return names.filter((n): n is string => n !== undefined && n !== '');
}

/**
 * The form two spellings of one name share: IPv4 exactly as written (no lenient forms such as
 * "10.1"), IPv6 in its canonical compressed form, DNS names in lower case. Undefined: never matches.
 */
function nameKey(name: string): string | undefined {
  switch (isIP(name)) {
    case 4:
      return name;
    case 6:
      try {
        return new URL(`http://[${name}]/`).hostname;
      } catch {
        return undefined; // e.g. a zone id (fe80::1%eth0): not a name a certificate can carry
      }
    default:
      return name.toLowerCase();
  }
}
