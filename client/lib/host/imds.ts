/**
 * The instance's own facts from the EC2 instance metadata service, IMDSv2 only (a session token
 * from PUT /latest/api/token on every read), as `lkp host` needs them (DESIGN §3.4, §4).
 */

/** The SDK's own override variable, so one setting points every IMDS reader at a stand-in. */
export const IMDS_ENDPOINT_VARIABLE = 'AWS_EC2_METADATA_SERVICE_ENDPOINT';
const DEFAULT_ENDPOINT = 'http://169.254.169.254';
const TOKEN_TTL_SECONDS = 300;
const TIMEOUT_MS = 2_000;

export interface InstanceMetadata {
  region: string;
  account: string;
  instanceId: string;
  instanceArn: string;
  localIpv4?: string;
  publicIpv4?: string;
  localHostname?: string;
  publicHostname?: string;
}

export function imdsEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env[IMDS_ENDPOINT_VARIABLE] || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

export async function readInstanceMetadata(endpoint = imdsEndpoint()): Promise<InstanceMetadata> {
  const token = await fetchToken(endpoint);
  const get = (path: string) => getText(endpoint, token, path);
  const document = parseIdentityDocument(await get('/latest/dynamic/instance-identity/document'));
  if (document === undefined)
    throw new Error(`IMDS at ${endpoint} has no instance identity document: is this an EC2 instance?`);
  const [localIpv4, publicIpv4, localHostname, publicHostname] = await Promise.all(
    ['local-ipv4', 'public-ipv4', 'local-hostname', 'public-hostname'].map((name) =>
      get(`/latest/meta-data/${name}`),
    ),
  );
  return {
    ...document,
    instanceArn: instanceArn(document),
    ...defined({ localIpv4, publicIpv4, localHostname, publicHostname }),
  };
}

/** arn:<partition>:ec2:<region>:<account>:instance/<id>; the partition follows from the region. */
export function instanceArn(d: { region: string; account: string; instanceId: string }): string {
  const partition = d.region.startsWith('cn-')
    ? 'aws-cn'
    : d.region.startsWith('us-gov-')
      ? 'aws-us-gov'
      : 'aws';
  return `arn:${partition}:ec2:${d.region}:${d.account}:instance/${d.instanceId}`;
}

/**
 * The fields we use, checked strictly: they end up in the sshd principals script and the
 * certificate request, so nothing but the expected shapes may pass.
 */
export function parseIdentityDocument(
  text: string | undefined,
): { region: string; account: string; instanceId: string } | undefined {
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('the IMDS instance identity document is not JSON');
  }
  const field = (name: string, pattern: RegExp): string => {
    const value =
      typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[name] : undefined;
    if (typeof value !== 'string' || !pattern.test(value))
      throw new Error(`the IMDS instance identity document has no valid ${name}`);
    return value;
  };
  return {
    region: field('region', /^[a-z]{2}(-[a-z]+)+-\d+$/),
    account: field('accountId', /^\d{12}$/),
    instanceId: field('instanceId', /^i-[0-9a-f]{8,17}$/),
  };
}

async function fetchToken(endpoint: string): Promise<string> {
  const response = await imdsFetch(endpoint, '/latest/api/token', {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) },
  });
  if (!response.ok)
    throw new Error(
      `IMDS at ${endpoint} refused a session token (HTTP ${response.status}); IMDSv2 is required`,
    );
  return (await response.text()).trim();
}

/** The value at `path`, or undefined when IMDS has none (404: e.g. no public address). */
async function getText(endpoint: string, token: string, path: string): Promise<string | undefined> {
  const response = await imdsFetch(endpoint, path, { headers: { 'X-aws-ec2-metadata-token': token } });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`IMDS at ${endpoint} answered HTTP ${response.status} for ${path}`);
  const text = (await response.text()).trim();
  return text === '' ? undefined : text;
}

async function imdsFetch(endpoint: string, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(`${endpoint}${path}`, {
      ...init,
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new Error(
      `cannot reach the instance metadata service at ${endpoint}: lkp host runs on an EC2 instance (or set ${IMDS_ENDPOINT_VARIABLE})`,
      { cause: e },
    );
  }
}

function defined<T extends Record<string, string | undefined>>(o: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<
    Record<keyof T, string>
  >;
}
