/**
 * Sends a checked proof to the configured STS endpoint and reads the answer strictly (DESIGN §3.1).
 * What the SDK retries (throttling, 5xx, connection failures, timeouts: src/aws/retry.ts) is tried
 * again within the one deadline; still failing, it is Internal (our problem, try again); any other
 * odd answer is Unauthenticated. No redirects are followed, the body is capped, XML is read by the
 * strict reader of src/xml.ts (no DTDs, entities beyond the predefined five, or processing instructions).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import {
  AwsTimeoutError,
  MAX_ATTEMPTS,
  retryKindOfAnswer,
  retryKindOfFailure,
  withRetries,
} from '../aws/retry.js';
import { LkpError, internal, unauthenticated } from '../errors.js';
import { parseStrictXml, XmlRefused, type XmlElement } from '../xml.js';
import { arnAccount } from './arn.js';
import type { StsProof } from './proof.js';

export interface CallerIdentity {
  Arn: string;
  Account: string;
  UserId: string;
}

export interface StsAnswer {
  status: number;
  contentType: string;
  body: string;
}

export type StsTransport = (
  req: StsProof,
  opts: { timeoutMs: number; maxResponseBytes: number },
) => Promise<StsAnswer>;

export const MAX_STS_RESPONSE_BYTES = 16 * 1024;

/** Hints for the STS error codes a user can do something about. */
const STS_ERROR_HINTS: ReadonlyMap<string, string> = new Map([
  ['SignatureDoesNotMatch', 'the proof was altered or signed with a wrong secret key'],
  ['ExpiredToken', 'your session token has expired; refresh your AWS credentials'],
  ['InvalidClientTokenId', 'the access key is unknown to AWS; check your AWS credentials'],
]);

/**
 * `timeoutMs` bounds the whole check: every attempt and every wait between them. The proof is
 * signed once and may be sent again: GetCallerIdentity changes nothing.
 */
export async function callSts(
  req: StsProof,
  timeoutMs: number,
  transport: StsTransport = httpStsTransport,
): Promise<CallerIdentity> {
  const answer = await sendToSts(req, timeoutMs, transport);
  checkStsStatus(answer);
  checkStsBodySize(answer.body);
  return parseStsResponse(answer.contentType, answer.body);
}

/** An answer the SDK would retry; the last one is judged like any other. */
class RetryableAnswer extends Error {
  constructor(readonly answer: StsAnswer) {
    super(`STS answered HTTP ${answer.status}`);
  }
}

/** §3.1: a transport failure that is not ours to judge (refused, reset, DNS) means STS is unavailable. */
async function sendToSts(req: StsProof, timeoutMs: number, transport: StsTransport): Promise<StsAnswer> {
  try {
    return await withRetries(
      async (remainingMs) => {
        const answer = await transport(req, {
          timeoutMs: remainingMs,
          maxResponseBytes: MAX_STS_RESPONSE_BYTES,
        });
        if (retryKindOfAnswer(stsErrorCode(answer.body), answer.status) !== undefined)
          throw new RetryableAnswer(answer);
        return answer;
      },
      {
        maxAttempts: MAX_ATTEMPTS,
        deadline: Date.now() + timeoutMs,
        classify: (e) =>
          e instanceof RetryableAnswer
            ? retryKindOfAnswer(stsErrorCode(e.answer.body), e.answer.status)
            : retryKindOfFailure(e), // a network error code or a timeout, also as an LkpError's cause
      },
    );
  } catch (e) {
    if (e instanceof RetryableAnswer) return e.answer;
    // The last attempt had only what was left of the deadline; the caller waited all of it.
    if (e instanceof LkpError && e.cause instanceof AwsTimeoutError)
      throw internal(`STS did not answer within ${timeoutMs} ms; try again`, e.cause);
    if (e instanceof LkpError) throw e;
    throw internal(`STS unavailable: could not reach ${new URL(req.url).origin}; try again`, e);
  }
}

/** The error code of an STS error answer (XML or JSON), when it has a well-formed one. */
function stsErrorCode(body: string): string | undefined {
  return /(?:<Code>|"Code"\s*:\s*")([A-Za-z0-9.]{1,64})(?:<\/Code>|")/.exec(body)?.[1];
}

/**
 * §3.1: only 200 proves an identity; 5xx is an outage and throttling (after the retries) a
 * busy STS, both Internal; anything else (4xx, 3xx redirects) a refusal.
 */
function checkStsStatus({ status, body }: StsAnswer): void {
  if (status === 200) return;
  if (status >= 500 && status <= 599) throw internal(`STS unavailable (HTTP ${status}); try again shortly`);
  const code = stsErrorCode(body);
  if (retryKindOfAnswer(code, status) === 'throttling')
    throw internal(
      `STS is throttling the CA's identity checks (HTTP ${status}${code ? ` ${code}` : ''}); try again shortly`,
    );
  const hint = STS_ERROR_HINTS.get(code ?? '') ?? 'check your AWS credentials';
  throw unauthenticated(`AWS rejected the identity proof (HTTP ${status}${code ? ` ${code}` : ''}); ${hint}`);
}

/** §3.1: a small body, whatever the transport did. */
function checkStsBodySize(body: string): void {
  if (Buffer.byteLength(body) > MAX_STS_RESPONSE_BYTES) throw tooLarge();
}

/** §3.1: XML or JSON only, read strictly; exactly one Arn, Account and UserId, consistent with each other. */
export function parseStsResponse(contentType: string, body: string): CallerIdentity {
  const media = mediaType(contentType);
  const caller = media === 'json' ? callerFromJson(body) : callerFromXml(parseStsXml(body));
  return checkCaller(caller);
}

/** §3.1: the answer type must be one we parse strictly; only a utf-8 charset parameter is tolerated. */
function mediaType(contentType: string): 'xml' | 'json' {
  const [type = '', ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  const paramsOk = params.every((p) => p === 'charset=utf-8');
  if (paramsOk && (type === 'text/xml' || type === 'application/xml')) return 'xml';
  if (paramsOk && type === 'application/json') return 'json';
  throw unauthenticated('STS answered with an unexpected content type; expected XML or JSON');
}

/** §3.1: Account is a 12-digit id equal to the ARN's; UserId is printable. */
function checkCaller(c: CallerIdentity): CallerIdentity {
  if (!/^\d{12}$/.test(c.Account))
    throw unauthenticated('STS answer has an Account that is not a 12-digit id');
  if (!/^[\x21-\x7e]{1,256}$/.test(c.UserId)) throw unauthenticated('STS answer has an invalid UserId');
  if (arnAccount(c.Arn) !== c.Account)
    throw unauthenticated('STS answer is inconsistent: Account does not match Arn');
  return c;
}

// ---- JSON ----------------------------------------------------------------------------------

function callerFromJson(body: string): CallerIdentity {
  const doc = parseJson(body);
  checkNoDuplicateJsonKeys(body);
  const response = jsonObject(doc, 'the answer', ['GetCallerIdentityResponse'], []);
  const inner = jsonObject(
    response['GetCallerIdentityResponse'],
    'GetCallerIdentityResponse',
    ['GetCallerIdentityResult'],
    ['ResponseMetadata'],
  );
  const result = jsonObject(
    inner['GetCallerIdentityResult'],
    'GetCallerIdentityResult',
    ['Arn', 'Account', 'UserId'],
    [],
  );
  const { Arn, Account, UserId } = result;
  if (typeof Arn !== 'string' || typeof Account !== 'string' || typeof UserId !== 'string') {
    throw unauthenticated('STS answer: Arn, Account and UserId must be strings');
  }
  return { Arn, Account, UserId };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw unauthenticated('STS answer is not valid JSON');
  }
}

/** An object with all `required` keys and nothing outside `required` + `optional`. */
function jsonObject(
  v: unknown,
  where: string,
  required: readonly string[],
  optional: readonly string[],
): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw unauthenticated(`STS answer: ${where} is not an object`);
  const keys = Object.keys(v);
  const ok =
    required.every((k) => keys.includes(k)) &&
    keys.every((k) => required.includes(k) || optional.includes(k));
  if (!ok)
    throw unauthenticated(`STS answer: ${where} must have exactly ${[...required, ...optional].join(', ')}`);
  return v as Record<string, unknown>;
}

/** JSON.parse keeps the last of duplicate keys silently; "exactly one Arn" needs them refused. Runs on valid JSON. */
function checkNoDuplicateJsonKeys(text: string): void {
  const scopes: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') scopes.push(new Set());
    else if (ch === '[') scopes.push(null);
    else if (ch === '}' || ch === ']') scopes.pop();
    else if (ch === '"') {
      const end = endOfJsonString(text, i);
      const scope = scopes[scopes.length - 1];
      JSON_KEY_COLON.lastIndex = end + 1;
      if (scope && JSON_KEY_COLON.test(text)) {
        const key = String(JSON.parse(text.slice(i, end + 1)));
        if (scope.has(key)) throw unauthenticated('STS answer repeats a field');
        scope.add(key);
      }
      i = end;
    }
  }
}

const JSON_KEY_COLON = /\s*:/y;

function endOfJsonString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i;
}

// ---- XML -----------------------------------------------------------------------------------

/** §3.1: the strict reader of src/xml.ts; whatever it refuses is an Unauthenticated answer. */
function parseStsXml(body: string): XmlElement {
  try {
    return parseStrictXml(body);
  } catch (e) {
    if (e instanceof XmlRefused) throw unauthenticated(`STS answer ${e.message}`);
    throw e;
  }
}

function callerFromXml(root: XmlElement): CallerIdentity {
  if (root.name !== 'GetCallerIdentityResponse')
    throw unauthenticated('STS answer is not a GetCallerIdentityResponse');
  onlyElements(root, ['GetCallerIdentityResult', 'ResponseMetadata']);
  const result = exactlyOne(root, 'GetCallerIdentityResult');
  onlyElements(result, ['Arn', 'Account', 'UserId']);
  const [Arn, Account, UserId] = ['Arn', 'Account', 'UserId'].map((n) => leafText(exactlyOne(result, n))) as [
    string,
    string,
    string,
  ];
  return { Arn, Account, UserId };
}

function onlyElements(parent: XmlElement, allowed: readonly string[]): void {
  const other = parent.children.find((c) => !allowed.includes(c.name));
  if (other) throw unauthenticated(`STS answer has an unexpected element ${other.name} in ${parent.name}`);
  if (parent.text.trim() !== '') throw unauthenticated(`STS answer has stray text in ${parent.name}`);
}

function exactlyOne(parent: XmlElement, name: string): XmlElement {
  const found = parent.children.filter((c) => c.name === name);
  if (found.length !== 1 || !found[0]) {
    throw unauthenticated(`STS answer must have exactly one ${name} (found ${found.length})`);
  }
  return found[0];
}

function leafText(el: XmlElement): string {
  if (el.children.length > 0) throw unauthenticated(`STS answer: ${el.name} must hold text only`);
  return el.text;
}

function tooLarge(): LkpError {
  return unauthenticated(`STS answer is larger than ${MAX_STS_RESPONSE_BYTES} bytes`);
}

// ---- transport -----------------------------------------------------------------------------

/**
 * POSTs to req.url only, with req.headers verbatim (Host included). Node's http client never
 * follows redirects. One deadline covers connect, send and the whole answer, so a slow-drip
 * server cannot stretch it; the body is cut off past maxResponseBytes.
 */
export const httpStsTransport: StsTransport = (req, { timeoutMs, maxResponseBytes }) =>
  new Promise<StsAnswer>((resolve, reject) => {
    const url = new URL(req.url);
    const send =
      url.protocol === 'https:' ? https.request : url.protocol === 'http:' ? http.request : undefined;
    if (!send) return reject(internal(`STS endpoint ${url.origin} is not http(s)`));
    const request = send({
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      path: '/',
      method: 'POST',
      headers: req.headers,
    });
    const fail = (e: unknown) => {
      clearTimeout(deadline);
      request.destroy();
      reject(e);
    };
    const deadline = setTimeout(() => {
      const message = `STS did not answer within ${timeoutMs} ms; try again`;
      fail(internal(message, new AwsTimeoutError(message)));
    }, timeoutMs);
    request.on('error', fail);
    let answered = false;
    request.on('close', () => {
      if (!answered) fail(internal('STS closed the connection before answering'));
    });
    request.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = Number(res.headers['content-length'] ?? 0);
      if (size > maxResponseBytes) return fail(tooLarge());
      size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) fail(tooLarge());
        else chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(deadline);
        const body = decodeUtf8(Buffer.concat(chunks));
        if (body === undefined) return reject(unauthenticated('STS answer is not UTF-8'));
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body });
      });
    });
    request.end(req.body);
  });

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
