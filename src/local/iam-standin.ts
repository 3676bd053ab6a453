/**
 * A wire-compatible IAM query API on loopback (DESIGN §6) serving group membership: GetGroup (with
 * Marker/MaxItems paging) and ListGroupsForUser, and instance profiles: GetInstanceProfile.
 * the CA's Accounts answers and its host-role check (DESIGN §3.4) reach it through
 * AWS_ENDPOINT_URL_IAM or an endpoint option, so their code runs unchanged; requests must be
 * SigV4-signed for service `iam` in us-east-1 (IAM's signing region) with the stand-in's credentials.
 * Tests change membership at run time and inject Throttling to exercise the client's backoff.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readLimitedBody } from '../http-body.js';
import { localCredentials } from './credentials.js';
import type { SigningCredentials } from './sigv4-verify.js';
import { escapeXmlText, startStandinServer, verifyStandinSignature } from './standin-server.js';

/** IAM group name → the IAM user names in it. */
export type IamGroups = Readonly<Record<string, readonly string[]>>;

/** A role as an instance profile lists it; roleId is IAM's unique id (AROA…), which STS puts in UserId. */
export interface LocalRole {
  roleName: string;
  roleId: string;
}
/** Instance profile name → its roles (IAM allows at most one; more is for testing the CA). */
export type IamInstanceProfiles = Readonly<Record<string, readonly LocalRole[]>>;

export interface IamStandin {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Always us-east-1: IAM is global and signs there. */
  region: string;
  account: string;
  /** The only credentials the stand-in accepts. */
  credentials: SigningCredentials;
  /** Every HTTP request received, valid or not. */
  requestCount(): number;
  /** The Action of every signed request, in order (to count API calls). */
  actions(): string[];
  /** Replaces group membership (a user added to or removed from a group). */
  setGroups(groups: IamGroups): void;
  /** The next `count` signed requests fail with Throttling (HTTP 400), as IAM does when rate-limited. */
  throttleNext(count: number): void;
  close(): Promise<void>;
}

const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';
const IAM_VERSION = '2010-05-08';
const IAM_REGION = 'us-east-1';
const MAX_BODY_BYTES = 64 * 1024;
const MAX_SKEW_MS = 15 * 60 * 1000;
const DEFAULT_MAX_ITEMS = 100;
const NAME = /^[\w+=,.@-]{1,128}$/;
const PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  GetGroup: ['GroupName', 'Marker', 'MaxItems'],
  ListGroupsForUser: ['UserName', 'Marker', 'MaxItems'],
  GetInstanceProfile: ['InstanceProfileName'],
};

class IamFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startIamStandin(opts: {
  account: string;
  /** Default: none. */
  groups?: IamGroups;
  /** Default: none. */
  instanceProfiles?: IamInstanceProfiles;
  port?: number;
  /** The credentials to accept; default: fresh ones (see `credentials` on the result). */
  credentials?: SigningCredentials;
}): Promise<IamStandin> {
  const credentials = opts.credentials ?? localCredentials();
  let groups = checkGroups(opts.groups ?? {});
  const profiles = checkInstanceProfiles(opts.instanceProfiles ?? {});
  let throttled = 0;
  const actions: string[] = [];

  const server = await startStandinServer({
    port: opts.port,
    handle: async (req, res) => {
      const params = await readSigned(req, credentials);
      const action = params.get('Action') ?? '(none)';
      actions.push(action);
      if (throttled > 0) {
        throttled -= 1;
        throw new IamFault(400, 'Throttling', 'Rate exceeded');
      }
      send(res, 200, answer(action, params, { groups, profiles }, opts.account));
    },
    fail: (_req, res, e) => {
      const fault =
        e instanceof IamFault ? e : new IamFault(500, 'ServiceFailure', 'internal error in the IAM stand-in');
      send(res, fault.status, errorXml(fault));
    },
  });

  return {
    url: server.url,
    region: IAM_REGION,
    account: opts.account,
    credentials,
    requestCount: server.requestCount,
    actions: () => [...actions],
    setGroups: (next) => {
      groups = checkGroups(next);
    },
    throttleNext: (count) => {
      throttled = count;
    },
    close: server.close,
  };
}

/** A bad name in the local membership is a test bug: say so at once. */
function checkGroups(groups: IamGroups): Map<string, string[]> {
  const names = [...Object.keys(groups), ...Object.values(groups).flat()];
  const bad = names.find((n) => !NAME.test(n));
  if (bad !== undefined) throw new Error(`'${bad}' is not a valid IAM user or group name`);
  return new Map(Object.entries(groups).map(([g, users]) => [g, [...new Set(users)]]));
}

function checkInstanceProfiles(profiles: IamInstanceProfiles): Map<string, readonly LocalRole[]> {
  for (const [name, roles] of Object.entries(profiles)) {
    const bad = [name, ...roles.map((r) => r.roleName)].find((n) => !NAME.test(n));
    if (bad !== undefined) throw new Error(`'${bad}' is not a valid IAM instance profile or role name`);
    const badId = roles.find((r) => !/^AROA[A-Z0-9]{17}$/.test(r.roleId));
    if (badId !== undefined) throw new Error(`role id '${badId.roleId}' must look like AROA + 17 characters`);
  }
  return new Map(Object.entries(profiles));
}

async function readSigned(
  req: IncomingMessage,
  credentials: SigningCredentials,
): Promise<Map<string, string>> {
  if (req.method !== 'POST' || req.url !== '/')
    throw new IamFault(400, 'InvalidAction', 'the local IAM stand-in only serves POST /');
  const body = await readLimitedBody(req, MAX_BODY_BYTES);
  if (body === undefined)
    throw new IamFault(413, 'RequestEntityTooLarge', `request body exceeds ${MAX_BODY_BYTES} bytes`);
  const verdict = verifyStandinSignature(req, body, {
    region: IAM_REGION,
    service: 'iam',
    maxSkewMs: MAX_SKEW_MS,
    credentials,
  });
  if (!verdict.ok)
    throw new IamFault(
      verdict.code === 'IncompleteSignature' || verdict.code === 'RequestExpired' ? 400 : 403,
      verdict.code,
      verdict.message,
    );
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    if (params.has(key))
      throw new IamFault(400, 'ValidationError', `The parameter ${key} appears more than once`);
    params.set(key, value);
  }
  return params;
}

function answer(
  action: string,
  params: Map<string, string>,
  { groups, profiles }: { groups: Map<string, string[]>; profiles: Map<string, readonly LocalRole[]> },
  account: string,
): string {
  const allowed = PARAMETERS[action];
  if (allowed === undefined)
    throw new IamFault(400, 'InvalidAction', `Could not find operation ${action} for version ${IAM_VERSION}`);
  if (params.get('Version') !== IAM_VERSION)
    throw new IamFault(
      400,
      'InvalidParameterValue',
      `the local IAM stand-in speaks only Version=${IAM_VERSION}`,
    );
  const unknown = [...params.keys()].find((k) => k !== 'Action' && k !== 'Version' && !allowed.includes(k));
  if (unknown !== undefined)
    throw new IamFault(400, 'ValidationError', `The parameter ${unknown} is not recognized`);
  const maxItems = parseMaxItems(params.get('MaxItems'));

  if (action === 'GetInstanceProfile') {
    const profileName = required(params, 'InstanceProfileName');
    const roles = profiles.get(profileName);
    if (roles === undefined)
      throw new IamFault(404, 'NoSuchEntity', `Instance Profile ${profileName} cannot be found.`);
    return response(action, [node('InstanceProfile', instanceProfileXml(profileName, roles, account))]);
  }
  if (action === 'GetGroup') {
    const groupName = required(params, 'GroupName');
    const members = groups.get(groupName);
    if (members === undefined)
      throw new IamFault(404, 'NoSuchEntity', `The group with name ${groupName} cannot be found.`);
    const page = paginate(members, `group:${groupName}`, params.get('Marker'), maxItems);
    return response(action, [
      node('Group', groupXml(groupName, account)),
      node(
        'Users',
        page.items.map((u) => node('member', userXml(u, account))),
      ),
      ...page.tail,
    ]);
  }
  const userName = required(params, 'UserName');
  if (![...groups.values()].some((members) => members.includes(userName)))
    throw new IamFault(404, 'NoSuchEntity', `The user with name ${userName} cannot be found.`);
  const mine = [...groups].filter(([, members]) => members.includes(userName)).map(([g]) => g);
  const page = paginate(mine, `user:${userName}`, params.get('Marker'), maxItems);
  return response(action, [
    node(
      'Groups',
      page.items.map((g) => node('member', groupXml(g, account))),
    ),
    ...page.tail,
  ]);
}

function required(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined || !NAME.test(value))
    throw new IamFault(
      400,
      'ValidationError',
      `1 validation error detected: Value at '${name}' failed to satisfy constraint`,
    );
  return value;
}

function parseMaxItems(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_MAX_ITEMS;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000)
    throw new IamFault(
      400,
      'ValidationError',
      "Value at 'maxItems' failed to satisfy constraint: between 1 and 1000",
    );
  return Number(raw);
}

/** Markers are opaque to clients; this one names what it pages over, so it cannot be reused elsewhere. */
function paginate<T>(
  all: readonly T[],
  scope: string,
  marker: string | undefined,
  maxItems: number,
): { items: T[]; tail: string[] } {
  let start = 0;
  if (marker !== undefined) {
    const [markerScope, offset] = Buffer.from(marker, 'base64url').toString('utf8').split('\n');
    if (markerScope !== scope || !/^\d+$/.test(offset ?? ''))
      throw new IamFault(400, 'ValidationError', 'Invalid Marker for this request');
    start = Number(offset);
  }
  const end = start + maxItems;
  const items = all.slice(start, end);
  if (end >= all.length) return { items, tail: [text('IsTruncated', 'false')] };
  return {
    items,
    tail: [
      text('IsTruncated', 'true'),
      text('Marker', Buffer.from(`${scope}\n${end}`).toString('base64url')),
    ],
  };
}

// --- XML in the IAM 2010-05-08 shape (element names from the IAM API reference) ---

const text = (name: string, value: string) => `<${name}>${escapeXmlText(value)}</${name}>`;
const node = (name: string, children: string | readonly string[]) =>
  `<${name}>${typeof children === 'string' ? children : children.join('')}</${name}>`;
const CREATED = '2024-01-01T00:00:00Z';

/** A stable unique id per name, of IAM's shape (prefix + 17 base32-ish characters). */
const uniqueId = (prefix: string, name: string) =>
  prefix + createHash('sha256').update(name).digest('hex').slice(0, 17).toUpperCase();

const userXml = (userName: string, account: string) => [
  text('Path', '/'),
  text('UserName', userName),
  text('UserId', uniqueId('AIDA', userName)),
  text('Arn', `arn:aws:iam::${account}:user/${userName}`),
  text('CreateDate', CREATED),
];
const groupXml = (groupName: string, account: string) => [
  text('Path', '/'),
  text('GroupName', groupName),
  text('GroupId', uniqueId('AGPA', groupName)),
  text('Arn', `arn:aws:iam::${account}:group/${groupName}`),
  text('CreateDate', CREATED),
];

const instanceProfileXml = (name: string, roles: readonly LocalRole[], account: string) => [
  text('Path', '/'),
  text('InstanceProfileName', name),
  text('InstanceProfileId', uniqueId('AIPA', name)),
  text('Arn', `arn:aws:iam::${account}:instance-profile/${name}`),
  text('CreateDate', CREATED),
  node(
    'Roles',
    roles.map((r) =>
      node('member', [
        text('Path', '/'),
        text('RoleName', r.roleName),
        text('RoleId', r.roleId),
        text('Arn', `arn:aws:iam::${account}:role/${r.roleName}`),
        text('CreateDate', CREATED),
      ]),
    ),
  ),
];

function response(action: string, result: readonly string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${IAM_NAMESPACE}">${node(`${action}Result`, result)}${node('ResponseMetadata', text('RequestId', randomUUID()))}</${action}Response>\n`;
}

function errorXml(fault: IamFault): string {
  const type = fault.status >= 500 ? 'Receiver' : 'Sender';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${IAM_NAMESPACE}">${node('Error', [text('Type', type), text('Code', fault.code), text('Message', fault.message)])}${text('RequestId', randomUUID())}</ErrorResponse>\n`;
}

function send(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(xml) });
  res.end(xml);
}
