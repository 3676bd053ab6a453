/**
 * The CA's KMS client (JSON 1.1, `TrentService`) without the SDK's KMS client (docs/performance.md).
 * Signing, bounds and JSON reading: src/aws/json-client.ts.
 */
import { clientEndpoint, KMS_RULE } from './endpoints.js';
import { AwsServiceError, type AwsClientLimits } from './http-client.js';
import { jsonClient, type JsonClient } from './json-client.js';

export type KmsClient = JsonClient;

export interface KmsClientOptions extends AwsClientLimits {
  region: string;
  /** Default: as the SDK resolves it (src/aws/endpoints.ts: AWS_ENDPOINT_URL_KMS, FIPS, dual-stack). */
  endpoint?: string;
}

/** KMS refused the call; `code` is KMS's error name (e.g. NotFoundException). */
export class KmsError extends AwsServiceError {
  override readonly name = 'KmsError';
}

export function kmsClient(opts: KmsClientOptions): KmsClient {
  const { url, signingRegion } = clientEndpoint(KMS_RULE, opts.region, opts.endpoint, process.env);
  return jsonClient(
    {
      label: 'KMS',
      signingName: 'kms',
      signingRegion,
      targetPrefix: 'TrentService',
      endpoint: url,
      error: (code, status, message) => new KmsError(code, status, message),
    },
    opts,
  );
}
