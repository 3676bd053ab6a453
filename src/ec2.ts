/**
 * EC2 lookups for the CA (DESIGN §3.4): which requested host names belong to an instance, and
 * whether a login target exists. The only module that calls EC2. The CA looks only at instances in
 * its own account, with its own role; the client honours AWS_ENDPOINT_URL_EC2 (local stack, DESIGN §6).
 */
import { isIP } from 'node:net';
import { Ec2Error, ec2QueryClient, type Ec2QueryClient } from './aws/ec2-query.js';
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
}

interface InstanceTarget {
  region: string;
  account: string;
  instanceId: string;
}

/** EC2 answers these for an id that names no instance in the account and region. */
const NOT_FOUND_CODES = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);
/** Instances whose addresses are being released or already are: their old names may belong to someone else now. */
const GONE_STATES = new Set(['shutting-down', 'terminated']);

// Bounded: a hung EC2 connection must not hold a certificate request until the Lambda timeout.
// (The client's defaults: 3 s per attempt, 1 s to connect, 2 attempts.)
const defaultClient = (region: string) => ec2QueryClient({ region });

export function ec2Directory(opts: {
  caAccount: string;
  clientFor?: (region: string) => Ec2QueryClient;
}): InstanceDirectory {
  const describe = instanceLookup(opts.clientFor ?? defaultClient);

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
      const instance = await describe(target);
      if (!instance || stateName(instance) === 'terminated') {
        throw forbidden(`instance ${target.instanceId} does not exist in ${target.region}`);
      }
    },
  };
}

/**
 * DescribeInstances for one id, with one client per region, created lazily. A client is kept only
 * once EC2 has answered through it, so regions that exist only in callers' ARNs cannot grow the cache.
 */
function instanceLookup(
  clientFor: (region: string) => Ec2QueryClient,
): (target: InstanceTarget) => Promise<XmlElement | undefined> {
  const clients = new Map<string, Ec2QueryClient>();
  const keep = (region: string, client: Ec2QueryClient) => {
    const cached = clients.get(region);
    if (cached === undefined) clients.set(region, client);
    else if (cached !== client) client.destroy();
  };

  return async ({ region, instanceId }) => {
    const client = clients.get(region) ?? clientFor(region);
    try {
      const out = await client.call('DescribeInstances', { InstanceId: [instanceId] });
      keep(region, client);
      return items(out, 'reservationSet')
        .flatMap((r) => items(r, 'instancesSet'))
        .find((i) => childText(i, 'instanceId') === instanceId);
    } catch (e) {
      if (e instanceof Ec2Error) keep(region, client);
      else if (clients.get(region) !== client) client.destroy();
      if (e instanceof Ec2Error && NOT_FOUND_CODES.has(e.code)) return undefined;
      throw lookupFailed(instanceId, region, e);
    }
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
  const [, , region, account, instanceId] = INSTANCE_ARN.exec(instanceArn) ?? [];
  if (region === undefined || account === undefined || instanceId === undefined) {
    throw badRequest('not an EC2 instance ARN: expected arn:aws:ec2:<region>:<account>:instance/i-…');
  }
  return { region, account, instanceId };
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
