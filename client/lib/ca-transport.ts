/**
 * How the client reaches the CA (DESIGN §3, §4): the same JSON request and answer over HTTP POST
 * (`lkp-ca serve`, a Function URL, optionally IAM-authenticated with SigV4) or Lambda Invoke.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { lambdaSdk } from './aws-sdk.js';
import type { CaRequest } from '../../src/protocol.js';
import { CliError, EXIT } from '../errors.js';
import { CaRequestError, caRefusal, callCa } from './ca-client.js';
import type { CaEndpoint } from './config.js';

export interface CaTransport {
  /** For messages: the URL or `lambda:<function> (<region>)`. */
  readonly where: string;
  call<T>(request: CaRequest): Promise<T>;
}

const TIMEOUT_MS = 15_000;
export function caTransport(
  endpoint: CaEndpoint,
  opts: { awsProfile?: string; credentials?: () => Promise<AwsCredentialIdentity> } = {},
): CaTransport {
  if ('function' in endpoint) return lambdaTransport(endpoint.function, endpoint.region, opts.awsProfile);
  if (endpoint.auth === 'iam') {
    const credentials = opts.credentials;
    if (!credentials) throw new Error('an IAM-authenticated Function URL needs credentials');
    return iamUrlTransport(endpoint.url, credentials);
  }
  return httpTransport(endpoint.url);
}

/** `lkp-ca serve` or a Function URL with AuthType NONE: plain JSON over HTTP POST. */
export function httpTransport(url: string): CaTransport {
  return { where: url, call: (request) => callCa(url, request) };
}

/** Function URLs with AuthType AWS_IAM: the POST is SigV4-signed for service `lambda`. */
export function iamUrlTransport(url: string, credentials: () => Promise<AwsCredentialIdentity>): CaTransport {
  const target = new URL(url);
  // <url-id>.lambda-url.<region>.on.aws names its region.
  const region =
    /\.lambda-url\.([a-z0-9-]+)\./.exec(target.hostname)?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';
  return {
    where: url,
    async call<T>(request: CaRequest): Promise<T> {
      const body = JSON.stringify(request);
      const c = await credentials();
      // Loaded on use: every lkp run imports this module, few of them sign (issue "Benchmarks", item 4).
      const { default: aws4 } = await import('aws4');
      const signed = aws4.sign(
        {
          host: target.host,
          path: `${target.pathname}${target.search}`,
          method: 'POST',
          service: 'lambda',
          region,
          body,
          headers: { 'Content-Type': 'application/json' },
        },
        { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
      );
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(signed.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      delete headers.Host; // fetch sets it; forbidden as a request header
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'error', // the body carries an identity proof (DESIGN §3.1)
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (e) {
        throw new CaRequestError(
          'Transport',
          `could not reach the CA at ${url}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      const text = await response.text();
      if (response.status === 403 && !text.includes('"Error"'))
        throw new CliError(
          `the Function URL ${url} refused the signed request (HTTP 403)`,
          EXIT.denied,
          'your AWS identity needs lambda:InvokeFunctionUrl and lambda:InvokeFunction with the condition lambda:InvokedViaFunctionUrl=true on the CA function (AWS requires both since October 2025)',
        );
      return answerOf<T>(text, url);
    },
  };
}

export function lambdaTransport(functionName: string, region: string, awsProfile?: string): CaTransport {
  const where = `lambda:${functionName} (${region})`;
  let client: LambdaClient | undefined;
  return {
    where,
    async call<T>(request: CaRequest): Promise<T> {
      // The SDK loads on the first call, not when lkp starts: a cached `lkp ssh` never invokes the CA.
      const { LambdaClient, InvokeCommand } = lambdaSdk();
      client ??= new LambdaClient({ region, ...(awsProfile ? { profile: awsProfile } : {}), maxAttempts: 2 });
      let out;
      try {
        out = await client.send(
          new InvokeCommand({
            FunctionName: functionName,
            Payload: new TextEncoder().encode(JSON.stringify(request)),
          }),
          { abortSignal: AbortSignal.timeout(TIMEOUT_MS) },
        );
      } catch (e) {
        const name = e instanceof Error ? e.name : 'Error';
        throw new CliError(
          `could not invoke the CA function ${functionName} in ${region} (${name})`,
          EXIT.unreachable,
          name === 'ResourceNotFoundException'
            ? 'check the function name and region: lkp setup --function <name> --region <region>'
            : 'your AWS identity needs lambda:InvokeFunction on the CA function',
        );
      }
      const text = new TextDecoder().decode(out.Payload ?? new Uint8Array());
      if (out.FunctionError) {
        // Lambda's own error object: {errorType, errorMessage}; the type is enough to act on.
        const type = /"errorType"\s*:\s*"([^"]{1,100})"/.exec(text)?.[1] ?? out.FunctionError;
        throw new CliError(
          `the CA function ${functionName} failed (${type})`,
          EXIT.error,
          `see the function's CloudWatch logs (aws logs tail /aws/lambda/${functionName})`,
        );
      }
      return answerOf<T>(text, where);
    },
  };
}

/** The CA's JSON answer: a success object, or its Error turned into CaRequestError. */
export function answerOf<T>(text: string, where: string): T {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CaRequestError('Transport', `the CA at ${where} answered with something that is not JSON`);
  }
  const refusal = caRefusal(body);
  if (refusal) throw new CaRequestError(refusal.Code, refusal.Message);
  if (typeof body !== 'object' || body === null || Array.isArray(body) || 'Error' in body)
    throw new CaRequestError('Transport', `the CA at ${where} did not answer like an lkp CA`);
  return body as T;
}
