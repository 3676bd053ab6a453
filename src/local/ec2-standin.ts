/**
 * A wire-compatible EC2 query API (DescribeInstances only) on loopback, serving a local instance
 * list (DESIGN §6). The CA reaches it through AWS_ENDPOINT_URL_EC2, so src/ec2.ts runs unchanged;
 * requests must be SigV4-signed (service `ec2`) with the credentials the stand-in generated.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readLimitedBody } from '../http-body.js';
import { verifySigV4, type SigningCredentials } from './sigv4-verify.js';
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
}

/** Errors the stand-in can be told to answer for an instance id, as EC2 would (status in FAILURE_STATUS). */
export type Ec2FailureCode = 'UnauthorizedOperation' | 'RequestLimitExceeded' | 'InternalError';

export interface Ec2Standin {
  /** `http://127.0.0.1:PORT` */
  url: string;
  region: string;
  account: string;
  /** The only credentials the stand-in accepts. */
  credentials: SigningCredentials;
  /** Every HTTP request received, valid or not. */
  requestCount(): number;
  setInstances(list: readonly LocalInstance[]): void;
  close(): Promise<void>;
}

const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const EC2_VERSION = '2016-11-15';
const MAX_BODY_BYTES = 64 * 1024;
/** SigV4's usual tolerance between X-Amz-Date and the server clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;
/** DryRun, MaxResults and NextToken are not served: one page holds every local instance. */
const KNOWN_PARAMETER = /^(?:Action|Version|InstanceId\.\d+|Filter\.\d+\.(?:Name|Value\.\d+))$/;
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
  /** Instance id → the error any request naming it gets (e.g. a CA role without ec2:DescribeInstances). */
  failures?: Readonly<Record<string, Ec2FailureCode>>;
}): Promise<Ec2Standin> {
  const credentials = opts.credentials ?? localCredentials();
  let instances = checkInstances(opts.instances);
  let requests = 0;

  const server = createServer((req, res) => {
    requests += 1;
    answer(req, opts, credentials, instances)
      .then((xml) => send(res, 200, xml))
      .catch((e: unknown) => {
        const fault =
          e instanceof Ec2Fault
            ? e
            : new Ec2Fault(500, 'InternalError', 'internal error in the EC2 stand-in');
        if (res.headersSent) res.destroy();
        else send(res, fault.status, errorXml(fault));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    region: opts.region,
    account: opts.account,
    credentials,
    requestCount: () => requests,
    setInstances: (list) => {
      instances = checkInstances(list);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
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

async function answer(
  req: IncomingMessage,
  opts: { region: string; account: string; failures?: Readonly<Record<string, Ec2FailureCode>> },
  credentials: SigningCredentials,
  instances: readonly LocalInstance[],
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
  if (action !== 'DescribeInstances') {
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
  const ids = numbered(params, /^InstanceId\.(\d+)$/).map(([, id]) => id);
  const filters = parseFilters(params);
  const unknown = [...params.keys()].find((k) => !KNOWN_PARAMETER.test(k));
  if (unknown !== undefined) {
    throw new Ec2Fault(
      400,
      'UnknownParameter',
      `The parameter ${unknown} is not recognized by the local EC2 stand-in`,
    );
  }

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
  credentials: SigningCredentials,
): void {
  const verdict = verifySigV4(
    { method: req.method ?? '', target: req.url ?? '', headers: headerPairs(req.rawHeaders), body },
    {
      region,
      service: 'ec2',
      now: new Date(),
      maxSkewMs: MAX_SKEW_MS,
      findCredentials: (id) => (id === credentials.accessKeyId ? credentials : undefined),
    },
  );
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

/** `Filter.N.Name` with its `Filter.N.Value.M`: tag:<key>, instance-state-name and instance-id. */
function parseFilters(params: Map<string, string>): Filter[] {
  const orphan = [...params.keys()].find((k) => {
    const m = /^Filter\.(\d+)\.Value\.\d+$/.exec(k);
    return m !== null && !params.has(`Filter.${m[1]}.Name`);
  });
  if (orphan !== undefined) {
    throw new Ec2Fault(400, 'InvalidParameterValue', `The parameter ${orphan} belongs to no Filter.N.Name`);
  }
  return numbered(params, /^Filter\.(\d+)\.Name$/).map(([n, name]) => {
    if (!name.startsWith('tag:') && name !== 'instance-state-name' && name !== 'instance-id') {
      throw new Ec2Fault(
        400,
        'InvalidParameterValue',
        `The filter '${name}' is invalid (the local EC2 stand-in supports tag:<key>, instance-state-name, instance-id)`,
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

// --- XML in the EC2 2016-11-15 shape (element names from the EC2 API reference) ---

/** Element text only (the stand-in writes no dynamic attributes), so quotes stay as they are. */
const escapeXml = (s: string) =>
  s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
const text = (name: string, value: string | number) => `<${name}>${escapeXml(String(value))}</${name}>`;
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

function headerPairs(raw: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] ?? '', raw[i + 1] ?? '']);
  return pairs;
}
