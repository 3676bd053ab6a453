/**
 * The official SDK v3 clients next to our small ones (src/aws/*), one entry per service: the
 * conformance suite runs every check over this table, so a new small client (e.g. DynamoDB) is
 * held to the SDK by adding one entry here and its calls to calls.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { STSClient } from '@aws-sdk/client-sts';
import {
  DYNAMODB_RULE,
  EC2_RULE,
  IAM_RULE,
  KMS_RULE,
  LAMBDA_RULE,
  STS_RULE,
  type ServiceEndpointRule,
} from '../../src/aws/endpoints.js';

/** What the SDK's endpoint rules take and give, reduced to what the comparison needs. */
interface SdkEndpointProvider {
  (params: Record<string, unknown>): {
    url: URL;
    properties?: { authSchemes?: { signingRegion?: string; signingName?: string }[] };
  };
}

export interface SdkService {
  /** Our rule (src/aws/endpoints.ts). */
  rule: ServiceEndpointRule;
  /** The SigV4 service name both sign with. */
  signingName: string;
  /** The SDK's endpoint resolver for this service. */
  endpointProvider: SdkEndpointProvider;
  /** Parameters the service's rules need besides Region, UseFIPS and UseDualStack. */
  extraParams?: Record<string, unknown>;
}

const providerOf = (client: { config: { endpointProvider: unknown } }) =>
  client.config.endpointProvider as SdkEndpointProvider;

export const SDK_SERVICES: readonly SdkService[] = [
  {
    rule: STS_RULE,
    signingName: 'sts',
    endpointProvider: providerOf(new STSClient({ region: 'us-east-1' })),
    // The SDK's default (AWS_STS_REGIONAL_ENDPOINTS=regional).
    extraParams: { UseGlobalEndpoint: false },
  },
  {
    rule: KMS_RULE,
    signingName: 'kms',
    endpointProvider: providerOf(new KMSClient({ region: 'us-east-1' })),
  },
  {
    rule: LAMBDA_RULE,
    signingName: 'lambda',
    endpointProvider: providerOf(new LambdaClient({ region: 'us-east-1' })),
  },
  {
    rule: EC2_RULE,
    signingName: 'ec2',
    endpointProvider: providerOf(new EC2Client({ region: 'us-east-1' })),
  },
  {
    rule: IAM_RULE,
    signingName: 'iam',
    endpointProvider: providerOf(new IAMClient({ region: 'us-east-1' })),
  },
  {
    // The CA's Lambda credentials carry no account id, so the SDK uses the regional endpoint.
    rule: DYNAMODB_RULE,
    signingName: 'dynamodb',
    endpointProvider: providerOf(new DynamoDBClient({ region: 'us-east-1' })),
  },
];
