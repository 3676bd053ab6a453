/**
 * A Lambda Function URL with AuthType AWS_IAM in front of the local CA (DESIGN §6): it checks the
 * request's SigV4 signature (service `lambda`) as AWS does before the function runs, answers 403
 * as AWS does when it fails or the caller lacks the permissions, and passes the body of a signed
 * request on to the CA's HTTP endpoint. Tests of the host agent's `--ca-iam-url` transport use it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readLimitedBody } from '../http-body.js';
import type { SigningCredentials } from './sigv4-verify.js';
import { startStandinServer, verifyStandinSignature } from './standin-server.js';

export interface FunctionUrlFrontOptions {
  region: string;
  /** The CA's HTTP endpoint, where signed requests go. */
  target: string;
  /** The only credentials whose signature is accepted (the caller's). */
  credentials: SigningCredentials;
}

export interface FunctionUrlFront {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  /** Whether the caller has lambda:InvokeFunctionUrl and lambda:InvokeFunction (default true). */
  setPermitted(permitted: boolean): void;
  /** Requests refused, with AWS's reason, oldest first. */
  refusals(): string[];
  close(): Promise<void>;
}

/** Function URL payloads are limited to 6 MB, like Invoke. */
const MAX_BODY_BYTES = 6 * 1024 * 1024;
const MAX_SKEW_MS = 15 * 60 * 1000;
/** The body AWS answers a refused Function URL request with. */
const FORBIDDEN = JSON.stringify({ Message: 'Forbidden' });

export async function startFunctionUrlFront(opts: FunctionUrlFrontOptions): Promise<FunctionUrlFront> {
  let permitted = true;
  const refused: string[] = [];
  const refuse = (res: ServerResponse, why: string) => {
    refused.push(why);
    res.writeHead(403, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'AccessDeniedException' });
    res.end(FORBIDDEN);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readLimitedBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      res.writeHead(413).end();
      return;
    }
    const verdict = verifyStandinSignature(req, body, {
      region: opts.region,
      service: 'lambda',
      maxSkewMs: MAX_SKEW_MS,
      credentials: opts.credentials,
    });
    if (!verdict.ok) return refuse(res, verdict.code);
    if (!permitted) return refuse(res, 'no lambda:InvokeFunctionUrl and lambda:InvokeFunction');
    const answer = await fetch(opts.target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end(await answer.text());
  };
  const server = await startStandinServer({
    handle,
    fail: (_req, res) => {
      res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ Message: 'Internal Server Error' }));
    },
  });
  return {
    url: `${server.url}/`,
    setPermitted: (p) => {
      permitted = p;
    },
    refusals: () => [...refused],
    close: server.close,
  };
}
