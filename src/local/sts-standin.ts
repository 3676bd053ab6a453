/**
 * A wire-compatible STS GetCallerIdentity server on loopback (DESIGN §6). The CA reaches it through
 * AWS_ENDPOINT_URL_STS, so its production forwarding code runs unchanged; it verifies SigV4 itself
 * against credentials it generated for a fixed list of local principals.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SigningCredentials } from './sigv4-verify.js';
import { startStandinServer, verifyStandinSignature } from './standin-server.js';
import { readLimitedBody } from '../http-body.js';
import { base32, localCredentials } from './credentials.js';

export interface LocalPrincipalSpec {
  /** e.g. `arn:aws:iam::111122223333:user/alice` or `arn:aws:sts::111122223333:assumed-role/role/session`. */
  arn: string;
  /** For an assumed role: its role's unique id (AROA…), e.g. the one an IAM stand-in lists; default: random. */
  roleId?: string;
}

export interface LocalPrincipal {
  arn: string;
  account: string;
  userId: string;
  credentials: SigningCredentials;
}

export interface StsStandin {
  /** `http://127.0.0.1:PORT` */
  url: string;
  region: string;
  principals: LocalPrincipal[];
  /** Every HTTP request received, valid or not. */
  requestCount(): number;
  close(): Promise<void>;
}

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const STS_VERSION = '2011-06-15';
const MAX_BODY_BYTES = 64 * 1024;
/** SigV4's usual tolerance between X-Amz-Date and the server clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

export async function startStsStandin(opts: {
  region: string;
  principals: LocalPrincipalSpec[];
  port?: number;
}): Promise<StsStandin> {
  const principals = opts.principals.map(createPrincipal);
  const byAccessKey = new Map(principals.map((p) => [p.credentials.accessKeyId, p]));
  const server = await startStandinServer({
    port: opts.port,
    handle: (req, res) => handle(req, res, opts.region, byAccessKey),
    fail: (req, res) =>
      sendError(res, wantsJson(req), 500, 'InternalFailure', 'internal error in the STS stand-in'),
  });

  return {
    url: server.url,
    region: opts.region,
    principals,
    requestCount: server.requestCount,
    close: server.close,
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  region: string,
  byAccessKey: Map<string, LocalPrincipal>,
): Promise<void> {
  const json = wantsJson(req);
  if (req.method !== 'POST' || req.url !== '/') {
    return sendError(res, json, 400, 'InvalidAction', 'the local STS stand-in only serves POST /');
  }
  const body = await readLimitedBody(req, MAX_BODY_BYTES);
  if (body === undefined) {
    return sendError(res, json, 413, 'RequestEntityTooLarge', `request body exceeds ${MAX_BODY_BYTES} bytes`);
  }

  const verdict = verifyStandinSignature(req, body, {
    region,
    service: 'sts',
    maxSkewMs: MAX_SKEW_MS,
    credentials: (id) => byAccessKey.get(id)?.credentials,
  });
  if (!verdict.ok) {
    const status = verdict.code === 'IncompleteSignature' ? 400 : 403;
    return sendError(res, json, status, verdict.code, verdict.message);
  }

  const params = new URLSearchParams(body.toString('utf8'));
  const action = params.get('Action');
  const version = params.get('Version') ?? STS_VERSION;
  if (action !== 'GetCallerIdentity' || version !== STS_VERSION) {
    return sendError(
      res,
      json,
      400,
      'InvalidAction',
      `Could not find operation ${action ?? ''} for version ${version}`,
    );
  }
  const principal = byAccessKey.get(verdict.accessKeyId);
  if (!principal) throw new Error('verified access key has no principal');
  sendIdentity(res, json, principal);
}

function sendIdentity(res: ServerResponse, json: boolean, p: LocalPrincipal): void {
  const requestId = randomUUID();
  if (json) {
    return send(res, 200, 'application/json', {
      GetCallerIdentityResponse: {
        GetCallerIdentityResult: { Arn: p.arn, Account: p.account, UserId: p.userId },
        ResponseMetadata: { RequestId: requestId },
      },
    });
  }
  send(
    res,
    200,
    'text/xml',
    `<GetCallerIdentityResponse xmlns="${STS_NAMESPACE}">
  <GetCallerIdentityResult>
    <Arn>${xmlText(p.arn)}</Arn>
    <UserId>${xmlText(p.userId)}</UserId>
    <Account>${xmlText(p.account)}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`,
  );
}

function sendError(res: ServerResponse, json: boolean, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  const type = status >= 500 ? 'Receiver' : 'Sender';
  if (json) {
    return send(res, status, 'application/json', {
      Error: { Type: type, Code: code, Message: message },
      RequestId: requestId,
    });
  }
  send(
    res,
    status,
    'text/xml',
    `<ErrorResponse xmlns="${STS_NAMESPACE}">
  <Error>
    <Type>${type}</Type>
    <Code>${code}</Code>
    <Message>${xmlText(message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`,
  );
}

function send(res: ServerResponse, status: number, contentType: string, body: string | object): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const wantsJson = (req: IncomingMessage) => (req.headers.accept ?? '').includes('application/json');

const xmlText = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

/** Principals with fresh random credentials and AWS-shaped unique ids. */
function createPrincipal(spec: LocalPrincipalSpec): LocalPrincipal {
  const match = /^arn:aws(?:-cn|-us-gov)?:(iam|sts)::(\d{12}):(.+)$/.exec(spec.arn);
  const [, service, account = '', resource = ''] = match ?? [];
  const parts = resource.split('/');
  // Root is not a caller the CA accepts (DESIGN §3.1), but tests need STS to vouch for one.
  if (service === 'iam' && resource === 'root') {
    return { arn: spec.arn, account, userId: account, credentials: longTermCredentials() };
  }
  if (service === 'iam' && parts[0] === 'user' && parts.length >= 2 && parts.every(Boolean)) {
    return { arn: spec.arn, account, userId: `AIDA${randomId(17)}`, credentials: longTermCredentials() };
  }
  if (service === 'sts' && parts[0] === 'assumed-role' && parts.length === 3 && parts.every(Boolean)) {
    const session = parts[2] ?? '';
    if (spec.roleId !== undefined && !/^AROA[A-Z0-9]{17}$/.test(spec.roleId))
      throw new Error(`role id '${spec.roleId}' must look like AROA + 17 characters`);
    return {
      arn: spec.arn,
      account,
      userId: `${spec.roleId ?? `AROA${randomId(17)}`}:${session}`,
      credentials: sessionCredentials(),
    };
  }
  if (service === 'sts' && parts[0] === 'federated-user' && parts.length === 2 && parts.every(Boolean)) {
    return { arn: spec.arn, account, userId: `${account}:${parts[1]}`, credentials: sessionCredentials() };
  }
  throw new Error(
    `unsupported local principal ARN '${spec.arn}': use arn:aws:iam::<account>:user/<name>, ` +
      'arn:aws:iam::<account>:root, arn:aws:sts::<account>:assumed-role/<role>/<session> or arn:aws:sts::<account>:federated-user/<name>',
  );
}

const longTermCredentials = localCredentials;

const sessionCredentials = (): SigningCredentials => ({
  accessKeyId: `ASIA${randomId(16)}`,
  secretAccessKey: randomBytes(30).toString('base64'),
  sessionToken: randomBytes(192).toString('base64'),
});

/** AWS key and unique ids use upper-case base32 letters and digits. */
const randomId = base32;
