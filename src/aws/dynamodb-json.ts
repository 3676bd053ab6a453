/**
 * The CA's DynamoDB client (JSON 1.0, `DynamoDB_20120810`) without the SDK's (docs/performance.md):
 * the lock store (src/locks/) is its only user. Signing, bounds and JSON reading: json-client.ts.
 */
import { clientEndpoint, DYNAMODB_RULE } from './endpoints.js';
import { AwsServiceError, type AwsClientLimits } from './http-client.js';
import { jsonClient, type JsonClient } from './json-client.js';

export type DynamoDbClient = JsonClient;

export interface DynamoDbClientOptions extends AwsClientLimits {
  region: string;
  /** Default: as the SDK resolves it (src/aws/endpoints.ts: AWS_ENDPOINT_URL_DYNAMODB, FIPS, dual-stack). */
  endpoint?: string;
}

/** DynamoDB refused the call; `code` is its error name (e.g. ConditionalCheckFailedException). */
export class DynamoDbError extends AwsServiceError {
  override readonly name = 'DynamoDbError';
}

/** A Scan page is at most 1 MB of items; its JSON is a little larger. */
const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

export function dynamoDbClient(opts: DynamoDbClientOptions): DynamoDbClient {
  const { url, signingRegion } = clientEndpoint(DYNAMODB_RULE, opts.region, opts.endpoint, process.env);
  return jsonClient(
    {
      label: 'DynamoDB',
      signingName: 'dynamodb',
      signingRegion,
      targetPrefix: 'DynamoDB_20120810',
      jsonVersion: '1.0',
      endpoint: url,
      error: (code, status, message) => new DynamoDbError(code, status, message),
    },
    { maxResponseBytes: MAX_RESPONSE_BYTES, ...opts },
  );
}
