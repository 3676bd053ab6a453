import { EC2Client } from '@aws-sdk/client-ec2';
import { ec2QueryClient, type Ec2QueryClient } from '../../src/aws/ec2-query.js';
import type { Ec2Standin } from '../../src/local/ec2-standin.js';

/** The real SDK's EC2 client, pointed at the stand-in with its credentials and no retries. */
export function sdkClientFor(standin: Ec2Standin, region = standin.region): EC2Client {
  return new EC2Client({ region, endpoint: standin.url, credentials: standin.credentials, maxAttempts: 1 });
}

/** The CA's own EC2 Query client, pointed at the stand-in with its credentials and no retries. */
export function queryClientFor(standin: Ec2Standin, region = standin.region): Ec2QueryClient {
  return ec2QueryClient({ region, endpoint: standin.url, credentials: standin.credentials, maxAttempts: 1 });
}
