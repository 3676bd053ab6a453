export interface UrlEventOptions {
  sourceIp?: string;
  method?: string;
  path?: string;
  base64?: boolean;
  headers?: Record<string, string>;
}

/** A Function URL event in payload format 2.0, as Lambda delivers it. */
export function functionUrlEvent(body: string | undefined, over: UrlEventOptions) {
  const path = over.path ?? '/';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...over.headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefgh',
      domainName: 'abcdefgh.lambda-url.us-east-1.on.aws',
      http: {
        method: over.method ?? 'POST',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: over.sourceIp,
        userAgent: 'test',
      },
      requestId: 'url-req',
      routeKey: '$default',
      stage: '$default',
      time: '23/Nov/2026:10:00:00 +0000',
      timeEpoch: 1795428000000,
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: over.base64 ?? false,
  };
}
