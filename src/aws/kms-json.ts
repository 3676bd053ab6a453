/**
 * The CA's KMS client (JSON 1.1, `TrentService`) without the SDK's KMS client (docs/performance.md).
 * Signing, bounds and JSON reading: src/aws/json-client.ts.
 */
import { AwsServiceError, checkRegion, regionalEndpoint, type AwsClientLimits } from './http-client.js';
import { jsonClient, type JsonClient } from './json-client.js';

export type KmsClient = JsonClient;

export interface KmsClientOptions extends AwsClientLimits {
  region: string;
  /** Default: AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, then the regional endpoint (as the SDK does). */
  endpoint?: string;
}

/** KMS refused the call; `code` is KMS's error name (e.g. NotFoundException). */
export class KmsError extends AwsServiceError {
  override readonly name = 'KmsError';
}

export function kmsClient(opts: KmsClientOptions): KmsClient {
  checkRegion(opts.region);
  return jsonClient(
    {
      label: 'KMS',
      signingName: 'kms',
      signingRegion: opts.region,
      targetPrefix: 'TrentService',
      endpoint: opts.endpoint ?? regionalEndpoint('KMS', 'kms', opts.region, process.env),
      error: (code, status, message) => new KmsError(code, status, message),
    },
    opts,
  );
}
