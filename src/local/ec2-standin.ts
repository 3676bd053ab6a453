/**
 * A wire-compatible EC2 query API on loopback (DESIGN §6): DescribeInstances over a local instance
 * list, and the security group rule calls of network leases (DescribeSecurityGroupRules,
 * AuthorizeSecurityGroupIngress, ModifySecurityGroupRules, RevokeSecurityGroupIngress) over local
 * groups, and DescribeInstanceConnectEndpoints over local EC2 Instance Connect Endpoints (the
 * client's EICE lookup). The CA reaches it through AWS_ENDPOINT_URL_EC2, so src/ec2.ts and src/ingress/ run
 * unchanged; requests must be SigV4-signed (service `ec2`) with the credentials the stand-in generated
 * or those of a caller it was told about (the local user, whose `lkp` looks instances up).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readLimitedBody } from '../http-body.js';
import type { SigningCredentials } from './sigv4-verify.js';
import { escapeXmlText, startStandinServer, verifyStandinSignature } from './standin-server.js';
import { localCredentials } from './credentials.js';

/** shutting-down: still reports its addresses, as EC2 does until the instance is terminated. */
export type InstanceStateName = 'running' | 'stopped' | 'shutting-down' | 'terminated';

export interface LocalInstance {
  instanceId: string;
  /** Default: running. */
  state?: InstanceStateName;
  privateIp?: string;
  publicIp?: string;
  privateDnsName?: string;
  publicDnsName?: string;
  ipv6?: string[];
  tags?: Record<string, string>;
  /** `arn:aws:iam::<account>:instance-profile/<name>`; default: none. */
  instanceProfileArn?: string;
  subnetId?: string;
  vpcId?: string;
}

/** An EC2 Instance Connect Endpoint, as DescribeInstanceConnectEndpoints reports it. */
export interface LocalInstanceConnectEndpoint {
  id: string;
  vpcId: string;
  subnetId: string;
  dnsName: string;
  /** Default: create-complete. */
  state?:
    'create-in-progress' | 'create-complete' | 'create-failed' | 'delete-in-progress' | 'delete-complete';
}

/** An ingress rule of a local security group (tcp or udp, one address range). */
export interface LocalSecurityGroupRule {
  protocol: 'tcp' | 'udp';
  fromPort: number;
  toPort: number;
  /** IPv4 or IPv6 network, e.g. 203.0.113.7/32 or 2001:db8::/64. */
  cidr: string;
  description?: string;
}

export interface LocalSecurityGroup {
  groupId: string;
  rules?: readonly LocalSecurityGroupRule[];
}

/** Errors the stand-in can be told to answer for an instance id, as EC2 would (status in FAILURE_STATUS). */
export type Ec2FailureCode = 'UnauthorizedOperation' | 'RequestLimitExceeded' | 'InternalError';

export interface Ec2Standin {
  /** `http://127.0.0.1:PORT` */
  url: string;
  region: string;
  account: string;
  /** The stand-in's own credentials (the CA's role); `callers` are accepted too. */
  credentials: SigningCredentials;
  /** Every HTTP request received, valid or not. */
  requestCount(): number;
  setInstances(list: readonly LocalInstance[]): void;
  /** The ingress rules of a local group as they are now, with their ids; [] for an unknown group. */
  securityGroupRules(groupId: string): Array<LocalSecurityGroupRule & { ruleId: string }>;
  close(): Promise<void>;
}

const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const EC2_VERSION = '2016-11-15';
const MAX_BODY_BYTES = 64 * 1024;
/** SigV4's usual tolerance between X-Amz-Date and the server clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const FILTER_PARAMETER = 'Filter\\.\\d+\\.(?:Name|Value\\.\\d+)';
const PERMISSION_PARAMETER =
  'IpPermissions\\.\\d+\\.(?:IpProtocol|FromPort|ToPort|IpRanges\\.\\d+\\.(?:CidrIp|Description)|Ipv6Ranges\\.\\d+\\.(?:CidrIpv6|Description))';
const parameters = (...names: string[]) => new RegExp(`^(?:Action|Version|${names.join('|')})$`);
/** Per action; DryRun is not served, nor (for DescribeInstances) MaxResults and NextToken: one page holds every local instance. */
const KNOWN_PARAMETERS: Readonly<Record<string, RegExp>> = {
  DescribeInstances: parameters('InstanceId\\.\\d+', FILTER_PARAMETER),
  DescribeSecurityGroupRules: parameters(
    FILTER_PARAMETER,
    'SecurityGroupRuleId\\.\\d+',
    'MaxResults',
    'NextToken',
  ),
  AuthorizeSecurityGroupIngress: parameters('GroupId', PERMISSION_PARAMETER),
  RevokeSecurityGroupIngress: parameters('GroupId', 'SecurityGroupRuleId\\.\\d+', PERMISSION_PARAMETER),
  DescribeInstanceConnectEndpoints: parameters(
    'InstanceConnectEndpointId\\.\\d+',
    FILTER_PARAMETER,
    'MaxResults',
    'NextToken',
  ),
  ModifySecurityGroupRules: parameters(
    'GroupId',
    'SecurityGroupRule\\.\\d+\\.(?:SecurityGroupRuleId|SecurityGroupRule\\.(?:IpProtocol|FromPort|ToPort|CidrIpv4|CidrIpv6|Description))',
  ),
};
const SECURITY_GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** EC2's rule description limits (API reference, IpRange.Description). */
const RULE_DESCRIPTION = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  running: 16,
  'shutting-down': 32,
  stopped: 80,
  terminated: 48,
};
const FAILURE_STATUS: Readonly<Record<Ec2FailureCode, number>> = {
  UnauthorizedOperation: 403,
  RequestLimitExceeded: 503,
  InternalError: 500,
};

class Ec2Fault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type CredentialLookup = (accessKeyId: string) => SigningCredentials | undefined;

interface Filter {
  name: string;
  values: string[];
}

export async function startEc2Standin(opts: {
  region: string;
  account: string;
  instances: readonly LocalInstance[];
  port?: number;
  /** The credentials to accept; default: fresh ones (see `credentials` on the result). */
  credentials?: SigningCredentials;
  /** More callers whose signatures are accepted, as AWS accepts any valid key and leaves the rest to IAM. */
  callers?: readonly SigningCredentials[];
  /** Instance id → the error any request naming it gets (e.g. a CA role without ec2:DescribeInstances). */
  failures?: Readonly<Record<string, Ec2FailureCode>>;
  /** Local security groups for network leases; default none. */
  securityGroups?: readonly LocalSecurityGroup[];
  /** Local EC2 Instance Connect Endpoints; default none. */
  instanceConnectEndpoints?: readonly LocalInstanceConnectEndpoint[];
}): Promise<Ec2Standin> {
  const credentials = opts.credentials ?? localCredentials();
  const accepted = new Map([credentials, ...(opts.callers ?? [])].map((c) => [c.accessKeyId, c]));
  const state: State = {
    instances: checkInstances(opts.instances),
    groups: checkSecurityGroups(opts.securityGroups ?? []),
    endpoints: [...(opts.instanceConnectEndpoints ?? [])],
  };
  const server = await startStandinServer({
    port: opts.port,
    handle: async (req, res) => send(res, 200, await answer(req, opts, (id) => accepted.get(id), state)),
    fail: (_req, res, e) => {
      const fault =
        e instanceof Ec2Fault ? e : new Ec2Fault(500, 'InternalError', 'internal error in the EC2 stand-in');
      send(res, fault.status, errorXml(fault));
    },
  });

  return {
    url: server.url,
    region: opts.region,
    account: opts.account,
    credentials,
    requestCount: server.requestCount,
    setInstances: (list) => {
      state.instances = checkInstances(list);
    },
    securityGroupRules: (groupId) =>
      (state.groups.get(groupId) ?? []).map(({ ruleId, protocol, fromPort, toPort, cidr, description }) => ({
        ruleId,
        protocol,
        fromPort,
        toPort,
        cidr,
        ...(description !== undefined ? { description } : {}),
      })),
    close: server.close,
  };
}

/** A local instance list with a bad or repeated id is a test bug: say so at once. */
function checkInstances(list: readonly LocalInstance[]): LocalInstance[] {
  const seen = new Set<string>();
  for (const { instanceId } of list) {
    if (!INSTANCE_ID.test(instanceId) || seen.has(instanceId)) {
      throw new Error(`local instance id '${instanceId}' must be unique and look like i-0123456789abcdef0`);
    }
    seen.add(instanceId);
  }
  return list.map((i) => ({ ...i }));
}

interface StoredRule extends LocalSecurityGroupRule {
  ruleId: string;
}

interface State {
  instances: LocalInstance[];
  /** Group id → its ingress rules, in creation order. */
  groups: Map<string, StoredRule[]>;
  endpoints: LocalInstanceConnectEndpoint[];
}

type Options = { region: string; account: string; failures?: Readonly<Record<string, Ec2FailureCode>> };

async function answer(
  req: IncomingMessage,
  opts: Options,
  credentials: CredentialLookup,
  state: State,
): Promise<string> {
  if (req.method !== 'POST' || req.url !== '/') {
    throw new Ec2Fault(400, 'InvalidAction', 'the local EC2 stand-in only serves POST /');
  }
  const body = await readLimitedBody(req, MAX_BODY_BYTES);
  if (body === undefined) {
    throw new Ec2Fault(413, 'RequestEntityTooLarge', `request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  checkSignature(req, body, opts.region, credentials);

  const params = parseForm(body.toString('utf8'));
  const action = params.get('Action');
  const known =
    action !== undefined && Object.hasOwn(KNOWN_PARAMETERS, action) ? KNOWN_PARAMETERS[action] : undefined;
  if (action === undefined || known === undefined) {
    throw new Ec2Fault(
      400,
      'InvalidAction',
      `The action ${action ?? '(none)'} is not valid for this web service.`,
    );
  }
  if (params.get('Version') !== EC2_VERSION) {
    throw new Ec2Fault(
      400,
      'InvalidParameterValue',
      `the local EC2 stand-in speaks only Version=${EC2_VERSION}`,
    );
  }
  const unknown = [...params.keys()].find((k) => !known.test(k));
  if (unknown !== undefined) {
    throw new Ec2Fault(
      400,
      'UnknownParameter',
      `The parameter ${unknown} is not recognized by the local EC2 stand-in`,
    );
  }

  switch (action) {
    case 'DescribeSecurityGroupRules':
      return describeSecurityGroupRules(params, state.groups, opts.account);
    case 'AuthorizeSecurityGroupIngress':
      return authorizeIngress(params, state.groups, opts.account);
    case 'RevokeSecurityGroupIngress':
      return revokeIngress(params, state.groups);
    case 'ModifySecurityGroupRules':
      return modifyRules(params, state.groups);
    case 'DescribeInstanceConnectEndpoints':
      return describeEndpoints(params, state.endpoints, opts.account, opts.region);
    default:
      return describeInstances(params, state.instances, opts);
  }
}

function describeInstances(
  params: Map<string, string>,
  instances: readonly LocalInstance[],
  opts: Options,
): string {
  const ids = numbered(params, /^InstanceId\.(\d+)$/).map(([, id]) => id);
  const filters = parseFilters(params, INSTANCE_FILTERS);
  const selected = selectById(instances, ids, opts.failures ?? {}).filter((i) =>
    filters.every((f) => matchesFilter(i, f)),
  );
  return describeInstancesXml(selected, opts.account);
}

/** EC2 answers 401 AuthFailure for unknown keys and wrong signatures. */
function checkSignature(
  req: IncomingMessage,
  body: Buffer,
  region: string,
  credentials: CredentialLookup,
): void {
  const verdict = verifyStandinSignature(req, body, {
    region,
    service: 'ec2',
    maxSkewMs: MAX_SKEW_MS,
    credentials,
  });
  if (verdict.ok) return;
  switch (verdict.code) {
    case 'MissingAuthenticationToken':
      throw new Ec2Fault(401, 'MissingAuthenticationToken', verdict.message);
    case 'IncompleteSignature':
    case 'RequestExpired':
      throw new Ec2Fault(400, verdict.code, verdict.message);
    default:
      throw new Ec2Fault(
        401,
        'AuthFailure',
        `AWS was not able to validate the provided access credentials: ${verdict.message}`,
      );
  }
}

/** Form parameters; a repeated one is refused rather than guessed at. */
function parseForm(body: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(body)) {
    if (params.has(key))
      throw new Ec2Fault(400, 'InvalidParameterValue', `The parameter ${key} appears more than once`);
    params.set(key, value);
  }
  return params;
}

/** The parameters whose names match `pattern` (one capture: the index N), as [N, value] in N order. */
function numbered(params: Map<string, string>, pattern: RegExp): Array<[number, string]> {
  const found: Array<[number, string]> = [];
  for (const [key, value] of params) {
    const m = pattern.exec(key);
    if (m) found.push([Number(m[1]), value]);
  }
  return found.sort(([a], [b]) => a - b);
}

interface FilterNames {
  allowed: (name: string) => boolean;
  /** For the error message. */
  list: string;
}
const INSTANCE_FILTERS: FilterNames = {
  allowed: (name) => name.startsWith('tag:') || name === 'instance-state-name' || name === 'instance-id',
  list: 'tag:<key>, instance-state-name, instance-id',
};
const ENDPOINT_FILTERS: FilterNames = {
  allowed: (name) => ['vpc-id', 'subnet-id', 'state', 'instance-connect-endpoint-id'].includes(name),
  list: 'vpc-id, subnet-id, state, instance-connect-endpoint-id',
};
const RULE_FILTERS: FilterNames = {
  allowed: (name) => name === 'group-id' || name === 'security-group-rule-id',
  list: 'group-id, security-group-rule-id',
};

/** `Filter.N.Name` with its `Filter.N.Value.M`, for the names the action supports. */
function parseFilters(params: Map<string, string>, names: FilterNames): Filter[] {
  const orphan = [...params.keys()].find((k) => {
    const m = /^Filter\.(\d+)\.Value\.\d+$/.exec(k);
    return m !== null && !params.has(`Filter.${m[1]}.Name`);
  });
  if (orphan !== undefined) {
    throw new Ec2Fault(400, 'InvalidParameterValue', `The parameter ${orphan} belongs to no Filter.N.Name`);
  }
  return numbered(params, /^Filter\.(\d+)\.Name$/).map(([n, name]) => {
    if (!names.allowed(name)) {
      throw new Ec2Fault(
        400,
        'InvalidParameterValue',
        `The filter '${name}' is invalid (the local EC2 stand-in supports ${names.list})`,
      );
    }
    const values = numbered(params, new RegExp(`^Filter\\.${n}\\.Value\\.(\\d+)$`)).map(([, v]) => v);
    if (values.length === 0) {
      throw new Ec2Fault(400, 'InvalidParameterValue', `The filter '${name}' needs at least one value`);
    }
    return { name, values };
  });
}

/** The instances named by InstanceId.N (all when none), with EC2's errors for bad and unknown ids. */
function selectById(
  instances: readonly LocalInstance[],
  ids: readonly string[],
  failures: Readonly<Record<string, Ec2FailureCode>>,
): LocalInstance[] {
  if (ids.length === 0) return [...instances];
  const malformed = ids.find((id) => !INSTANCE_ID.test(id));
  if (malformed !== undefined)
    throw new Ec2Fault(400, 'InvalidInstanceID.Malformed', `Invalid id: "${malformed}"`);
  for (const id of ids) {
    const failure = Object.hasOwn(failures, id) ? failures[id] : undefined;
    if (failure !== undefined) {
      throw new Ec2Fault(
        FAILURE_STATUS[failure],
        failure,
        `the local EC2 stand-in was told to fail for ${id}`,
      );
    }
  }
  const missing = ids.filter((id) => !instances.some((i) => i.instanceId === id));
  if (missing.length === 1) {
    throw new Ec2Fault(400, 'InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
  }
  if (missing.length > 1) {
    throw new Ec2Fault(
      400,
      'InvalidInstanceID.NotFound',
      `The instance IDs '${missing.join(', ')}' do not exist`,
    );
  }
  return instances.filter((i) => ids.includes(i.instanceId));
}

/** Any value may match (EC2 filter semantics); values take the * and ? wildcards. */
function matchesFilter(i: LocalInstance, f: Filter): boolean {
  const actual =
    f.name === 'instance-state-name'
      ? (i.state ?? 'running')
      : f.name === 'instance-id'
        ? i.instanceId
        : i.tags?.[f.name.slice('tag:'.length)];
  return actual !== undefined && f.values.some((v) => wildcard(v).test(actual));
}

const wildcard = (pattern: string) =>
  new RegExp(
    `^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('')}$`,
    's',
  );

// --- security groups (network leases) ---

/** A local group list with a bad or repeated id, or a bad rule, is a test bug: say so at once. */
function checkSecurityGroups(list: readonly LocalSecurityGroup[]): Map<string, StoredRule[]> {
  const groups = new Map<string, StoredRule[]>();
  for (const { groupId, rules = [] } of list) {
    if (!SECURITY_GROUP_ID.test(groupId) || groups.has(groupId))
      throw new Error(
        `local security group id '${groupId}' must be unique and look like sg-0123456789abcdef0`,
      );
    const stored: StoredRule[] = [];
    for (const rule of rules) addRules(stored, [checkRule(rule)]);
    groups.set(groupId, stored);
  }
  return groups;
}

function describeSecurityGroupRules(
  params: Map<string, string>,
  groups: Map<string, StoredRule[]>,
  account: string,
): string {
  const filters = parseFilters(params, RULE_FILTERS);
  const ids = numbered(params, /^SecurityGroupRuleId\.(\d+)$/).map(([, id]) => id);
  const all = [...groups].flatMap(([groupId, rules]) => rules.map((rule) => ({ groupId, rule })));
  const missing = ids.find((id) => !all.some(({ rule }) => rule.ruleId === id));
  if (missing !== undefined)
    throw new Ec2Fault(
      400,
      'InvalidSecurityGroupRuleId.NotFound',
      `The security group rule ID '${missing}' does not exist`,
    );
  const selected = all.filter(
    ({ groupId, rule }) =>
      (ids.length === 0 || ids.includes(rule.ruleId)) &&
      filters.every((f) =>
        f.values.some((v) => wildcard(v).test(f.name === 'group-id' ? groupId : rule.ruleId)),
      ),
  );
  // EC2 pages with MaxResults 5..1000 and an opaque NextToken; here the token is the next index.
  const maxResults = optionalInteger(params, 'MaxResults', 5, 1000) ?? 1000;
  const start = optionalInteger(params, 'NextToken', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const page = selected.slice(start, start + maxResults);
  const next = start + maxResults < selected.length ? [text('nextToken', start + maxResults)] : [];
  return response('DescribeSecurityGroupRulesResponse', [
    itemSet(
      'securityGroupRuleSet',
      page.map(({ groupId, rule }) => ruleXml(groupId, rule, account)),
    ),
    ...next,
  ]);
}

/** One page holds every local endpoint; EC2 answers an unknown id with an empty set, not an error. */
function describeEndpoints(
  params: Map<string, string>,
  endpoints: readonly LocalInstanceConnectEndpoint[],
  account: string,
  region: string,
): string {
  const ids = numbered(params, /^InstanceConnectEndpointId\.(\d+)$/).map(([, id]) => id);
  const filters = parseFilters(params, ENDPOINT_FILTERS);
  const field = (e: LocalInstanceConnectEndpoint, name: string) =>
    ({ 'vpc-id': e.vpcId, 'subnet-id': e.subnetId, state: e.state ?? 'create-complete' })[name] ?? e.id;
  const selected = endpoints.filter(
    (e) =>
      (ids.length === 0 || ids.includes(e.id)) && filters.every((f) => f.values.includes(field(e, f.name))),
  );
  return response('DescribeInstanceConnectEndpointsResponse', [
    itemSet(
      'instanceConnectEndpointSet',
      selected.map((e) => [
        text('ownerId', account),
        text('instanceConnectEndpointId', e.id),
        text(
          'instanceConnectEndpointArn',
          `arn:aws:ec2:${region}:${account}:instance-connect-endpoint/${e.id}`,
        ),
        text('state', e.state ?? 'create-complete'),
        text('dnsName', e.dnsName),
        text('vpcId', e.vpcId),
        text('subnetId', e.subnetId),
        text('preserveClientIp', 'false'),
      ]),
    ),
  ]);
}

/** Atomic, as EC2: one duplicate (existing or within the request) refuses the whole call. */
function authorizeIngress(
  params: Map<string, string>,
  groups: Map<string, StoredRule[]>,
  account: string,
): string {
  const groupId = params.get('GroupId') ?? '';
  const rules = groupRules(groups, groupId);
  const added = parsePermissions(params).map((r) => ({ ...r, ruleId: newRuleId() }));
  if (added.length === 0)
    throw new Ec2Fault(400, 'MissingParameter', 'The request must contain the parameter IpPermissions');
  addRules(rules, added);
  return response('AuthorizeSecurityGroupIngressResponse', [
    text('return', 'true'),
    itemSet(
      'securityGroupRuleSet',
      added.map((r) => ruleXml(groupId, r, account)),
    ),
  ]);
}

/** By SecurityGroupRuleId.N or by IpPermissions; any rule that does not exist refuses the whole call. */
function revokeIngress(params: Map<string, string>, groups: Map<string, StoredRule[]>): string {
  const groupId = params.get('GroupId') ?? '';
  const rules = groupRules(groups, groupId);
  const ids = numbered(params, /^SecurityGroupRuleId\.(\d+)$/).map(([, id]) => id);
  const permissions = parsePermissions(params);
  if (ids.length > 0 && permissions.length > 0)
    throw new Ec2Fault(
      400,
      'InvalidParameterCombination',
      'Give SecurityGroupRuleIds or IpPermissions, not both',
    );
  const revoked = ids.map((id) => {
    const rule = rules.find((r) => r.ruleId === id);
    if (rule === undefined)
      throw new Ec2Fault(
        400,
        'InvalidSecurityGroupRuleId.NotFound',
        `The security group rule ID '${id}' does not exist`,
      );
    return rule;
  });
  for (const permission of permissions) {
    const rule = rules.find((r) => sameRule(r, permission));
    if (rule === undefined)
      throw new Ec2Fault(
        400,
        'InvalidPermission.NotFound',
        `The specified rule does not exist in this security group`,
      );
    revoked.push(rule);
  }
  if (revoked.length === 0)
    throw new Ec2Fault(
      400,
      'MissingParameter',
      'The request must contain SecurityGroupRuleIds or IpPermissions',
    );
  const keep = rules.filter((r) => !revoked.includes(r));
  rules.splice(0, rules.length, ...keep);
  return response('RevokeSecurityGroupIngressResponse', [text('return', 'true')]);
}

/** Replaces each named rule with the one given (same id); atomic like the others. */
function modifyRules(params: Map<string, string>, groups: Map<string, StoredRule[]>): string {
  const groupId = params.get('GroupId') ?? '';
  const rules = groupRules(groups, groupId);
  const updates = numbered(params, /^SecurityGroupRule\.(\d+)\.SecurityGroupRuleId$/).map(([n, ruleId]) => {
    const at = rules.findIndex((r) => r.ruleId === ruleId);
    if (at < 0)
      throw new Ec2Fault(
        400,
        'InvalidSecurityGroupRuleId.NotFound',
        `The security group rule ID '${ruleId}' does not exist`,
      );
    const field = (name: string) => params.get(`SecurityGroupRule.${n}.SecurityGroupRule.${name}`);
    const cidr = field('CidrIpv4') ?? field('CidrIpv6');
    const rule = checkRule({
      protocol: field('IpProtocol') as LocalSecurityGroupRule['protocol'],
      fromPort: Number(field('FromPort')),
      toPort: Number(field('ToPort')),
      cidr: cidr ?? '',
      ...(field('Description') !== undefined ? { description: field('Description') } : {}),
    });
    return { at, rule: { ...rule, ruleId } };
  });
  if (updates.length === 0)
    throw new Ec2Fault(400, 'MissingParameter', 'The request must contain the parameter SecurityGroupRule');
  const next = [...rules];
  for (const { at, rule } of updates) next[at] = rule;
  const clash = next.find((r, i) => next.findIndex((o) => sameRule(o, r)) !== i);
  if (clash !== undefined) throw duplicate(clash);
  rules.splice(0, rules.length, ...next);
  return response('ModifySecurityGroupRulesResponse', [text('return', 'true')]);
}

function groupRules(groups: Map<string, StoredRule[]>, groupId: string): StoredRule[] {
  if (!SECURITY_GROUP_ID.test(groupId))
    throw new Ec2Fault(400, 'InvalidGroupId.Malformed', `Invalid id: "${groupId}" (expecting "sg-...")`);
  const rules = groups.get(groupId);
  if (rules === undefined)
    throw new Ec2Fault(400, 'InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
  return rules;
}

/** `IpPermissions.N` with their address ranges: one rule per range, as EC2 stores them. */
function parsePermissions(params: Map<string, string>): LocalSecurityGroupRule[] {
  return numbered(params, /^IpPermissions\.(\d+)\.IpProtocol$/).flatMap(([n, protocol]) => {
    const field = (name: string) => params.get(`IpPermissions.${n}.${name}`);
    const ranges = [
      ...numbered(params, new RegExp(`^IpPermissions\\.${n}\\.IpRanges\\.(\\d+)\\.CidrIp$`)).map(
        ([m, cidr]) => ({ cidr, description: field(`IpRanges.${m}.Description`) }),
      ),
      ...numbered(params, new RegExp(`^IpPermissions\\.${n}\\.Ipv6Ranges\\.(\\d+)\\.CidrIpv6$`)).map(
        ([m, cidr]) => ({ cidr, description: field(`Ipv6Ranges.${m}.Description`) }),
      ),
    ];
    if (ranges.length === 0)
      throw new Ec2Fault(
        400,
        'InvalidParameterValue',
        'the local EC2 stand-in serves only IpRanges and Ipv6Ranges',
      );
    return ranges.map(({ cidr, description }) =>
      checkRule({
        protocol: protocol as LocalSecurityGroupRule['protocol'],
        fromPort: Number(field('FromPort')),
        toPort: Number(field('ToPort')),
        cidr,
        ...(description !== undefined ? { description } : {}),
      }),
    );
  });
}

function checkRule(rule: LocalSecurityGroupRule): LocalSecurityGroupRule {
  if (rule.protocol !== 'tcp' && rule.protocol !== 'udp')
    throw new Ec2Fault(400, 'InvalidParameterValue', 'the local EC2 stand-in serves only tcp and udp rules');
  const port = (p: number) => Number.isInteger(p) && p >= 0 && p <= 65535;
  if (!port(rule.fromPort) || !port(rule.toPort) || rule.fromPort > rule.toPort)
    throw new Ec2Fault(400, 'InvalidParameterValue', `Invalid port range ${rule.fromPort}-${rule.toPort}`);
  if (!isNetwork(rule.cidr))
    throw new Ec2Fault(400, 'InvalidParameterValue', `CIDR block ${rule.cidr} is malformed`);
  if (rule.description !== undefined && !RULE_DESCRIPTION.test(rule.description))
    throw new Ec2Fault(
      400,
      'InvalidParameterValue',
      'Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*',
    );
  return { ...rule };
}

/** An address/prefix with no host bits set, as EC2 requires. */
function isNetwork(cidr: string): boolean {
  const [address = '', prefix = '', extra] = cidr.split('/');
  if (extra !== undefined || !/^\d{1,3}$/.test(prefix)) return false;
  let bits: bigint;
  let width: number;
  if (isIPv4(address)) {
    bits = address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
    width = 32;
  } else if (isIPv6(address) && !address.includes('.') && !address.includes('%')) {
    const [head = '', tail = ''] = address.split('::');
    const words = (s: string) => (s === '' ? [] : s.split(':'));
    const all = address.includes('::')
      ? [
          ...words(head),
          ...Array<string>(8 - words(head).length - words(tail).length).fill('0'),
          ...words(tail),
        ]
      : words(address);
    bits = all.reduce((acc, w) => (acc << 16n) | BigInt(parseInt(w, 16)), 0n);
    width = 128;
  } else return false;
  const length = Number(prefix);
  return length <= width && (bits & ((1n << BigInt(width - length)) - 1n)) === 0n;
}

/** EC2 identifies a rule by what it admits, not by its description. */
function sameRule(a: LocalSecurityGroupRule, b: LocalSecurityGroupRule): boolean {
  return (
    a.protocol === b.protocol &&
    a.fromPort === b.fromPort &&
    a.toPort === b.toPort &&
    networkKey(a.cidr) === networkKey(b.cidr)
  );
}

const networkKey = (cidr: string) => {
  const [address = '', prefix] = cidr.split('/');
  return isIPv6(address) ? `${new URL(`http://[${address}]/`).hostname}/${prefix}` : cidr;
};

function addRules(
  rules: StoredRule[],
  added: readonly StoredRule[] | readonly LocalSecurityGroupRule[],
): void {
  const stored = added.map((r) => ('ruleId' in r ? r : { ...r, ruleId: newRuleId() }));
  const clash = stored.find(
    (r, i) => rules.some((o) => sameRule(o, r)) || stored.findIndex((o) => sameRule(o, r)) !== i,
  );
  if (clash !== undefined) throw duplicate(clash);
  rules.push(...stored);
}

function duplicate(rule: LocalSecurityGroupRule): Ec2Fault {
  return new Ec2Fault(
    400,
    'InvalidPermission.Duplicate',
    `the specified rule "peer: ${rule.cidr}, ${rule.protocol.toUpperCase()}, from port: ${rule.fromPort}, to port: ${rule.toPort}, ALLOW" already exists`,
  );
}

const newRuleId = () => `sgr-${randomBytes(9).toString('hex').slice(0, 17)}`;

function optionalInteger(
  params: Map<string, string>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = params.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new Ec2Fault(400, 'InvalidParameterValue', `${name} must be a whole number from ${min} to ${max}`);
  return Number(raw);
}

// --- XML in the EC2 2016-11-15 shape (element names from the EC2 API reference) ---

const text = (name: string, value: string | number) => `<${name}>${escapeXmlText(String(value))}</${name}>`;
const node = (name: string, children: readonly string[]) => `<${name}>${children.join('')}</${name}>`;
const itemSet = (name: string, items: ReadonlyArray<readonly string[]>) =>
  node(
    name,
    items.map((c) => node('item', c)),
  );
const optional = (name: string, value: string | undefined) =>
  value === undefined ? [] : [text(name, value)];

function describeInstancesXml(instances: readonly LocalInstance[], account: string): string {
  const reservations = instances.map((i) => [
    text('reservationId', `r-${createHash('sha256').update(i.instanceId).digest('hex').slice(0, 17)}`),
    text('ownerId', account),
    node('groupSet', []),
    itemSet('instancesSet', [instanceXml(i, account)]),
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="${EC2_NAMESPACE}">${text('requestId', randomUUID())}${itemSet('reservationSet', reservations)}</DescribeInstancesResponse>\n`;
}

function instanceXml(i: LocalInstance, account: string): string[] {
  const state = i.state ?? 'running';
  // A terminated instance has released its addresses and network interfaces, as in EC2.
  const net: Partial<LocalInstance> = state === 'terminated' ? {} : i;
  const ipv6 = net.ipv6 ?? [];
  const hasNic = net.privateIp !== undefined || ipv6.length > 0;
  const association =
    net.publicIp === undefined
      ? []
      : [
          node('association', [
            text('publicIp', net.publicIp),
            text('publicDnsName', net.publicDnsName ?? ''),
            text('ipOwnerId', 'amazon'),
          ]),
        ];
  const nic = [
    text(
      'networkInterfaceId',
      `eni-${createHash('sha256').update(`eni:${i.instanceId}`).digest('hex').slice(0, 17)}`,
    ),
    text('ownerId', account),
    text('status', 'in-use'),
    ...optional('privateIpAddress', net.privateIp),
    text('privateDnsName', net.privateDnsName ?? ''),
    ...association,
    itemSet(
      'privateIpAddressesSet',
      net.privateIp === undefined
        ? []
        : [
            [
              text('privateIpAddress', net.privateIp),
              text('privateDnsName', net.privateDnsName ?? ''),
              text('primary', 'true'),
              ...association,
            ],
          ],
    ),
    itemSet(
      'ipv6AddressesSet',
      ipv6.map((a, n) => [text('ipv6Address', a), text('isPrimaryIpv6', String(n === 0))]),
    ),
  ];
  return [
    text('instanceId', i.instanceId),
    node('instanceState', [text('code', STATE_CODES[state]), text('name', state)]),
    text('privateDnsName', net.privateDnsName ?? ''),
    text('dnsName', net.publicDnsName ?? ''),
    text('reason', ''),
    ...optional('privateIpAddress', net.privateIp),
    ...optional('ipAddress', net.publicIp),
    ...optional('subnetId', net.subnetId),
    ...optional('vpcId', net.vpcId),
    ...(i.tags === undefined
      ? []
      : [
          itemSet(
            'tagSet',
            Object.entries(i.tags).map(([k, v]) => [text('key', k), text('value', v)]),
          ),
        ]),
    itemSet('networkInterfaceSet', hasNic ? [nic] : []),
    ...optional('ipv6Address', ipv6[0]),
    // Its instance profile is disassociated when the instance terminates, as in EC2.
    ...(net.instanceProfileArn === undefined
      ? []
      : [
          node('iamInstanceProfile', [
            text('arn', net.instanceProfileArn),
            text(
              'id',
              `AIPA${createHash('sha256').update(net.instanceProfileArn).digest('hex').slice(0, 17).toUpperCase()}`,
            ),
          ]),
        ]),
  ];
}

function response(name: string, children: readonly string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${name} xmlns="${EC2_NAMESPACE}">${text('requestId', randomUUID())}${children.join('')}</${name}>\n`;
}

function ruleXml(groupId: string, rule: StoredRule, account: string): string[] {
  return [
    text('securityGroupRuleId', rule.ruleId),
    text('groupId', groupId),
    text('groupOwnerId', account),
    text('isEgress', 'false'),
    text('ipProtocol', rule.protocol),
    text('fromPort', rule.fromPort),
    text('toPort', rule.toPort),
    text(rule.cidr.includes(':') ? 'cidrIpv6' : 'cidrIpv4', rule.cidr),
    ...optional('description', rule.description),
    node('tagSet', []),
  ];
}

function errorXml(fault: Ec2Fault): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${node('Errors', [node('Error', [text('Code', fault.code), text('Message', fault.message)])])}${text('RequestID', randomUUID())}</Response>\n`;
}

function send(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/xml;charset=UTF-8',
    'Content-Length': Buffer.byteLength(xml),
  });
  res.end(xml);
}
