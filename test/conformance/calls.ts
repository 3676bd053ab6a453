/**
 * Every AWS call the CA makes, once through our client and once through the SDK's, with sample
 * answers and error documents as the service sends them. requests.test.ts runs each entry against
 * a recording loopback server; a new call (or a new client's calls) is one more entry here.
 */
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeInstanceConnectEndpointsCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describeInstances } from '../../client/lib/instances.js';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { ec2QueryClient } from '../../src/aws/ec2-query.js';
import { dynamoDbClient } from '../../src/aws/dynamodb-json.js';
import { AwsServiceError } from '../../src/aws/http-client.js';
import { iamQueryClient } from '../../src/aws/iam-query.js';
import { kmsClient } from '../../src/aws/kms-json.js';
import { lambdaInvoker } from '../../src/aws/lambda-invoke.js';
import { LkpError } from '../../src/errors.js';
import type { Lock } from '../../src/locks/lock.js';
import { dynamoDbLockStore, itemFromLock, lockFromItem } from '../../src/locks/store.js';
import { callSts, httpStsTransport, parseStsProof } from '../../src/identity/index.js';
import { childElement, childText, type XmlElement } from '../../src/xml.js';
import type { SampleAnswer } from './recorder.js';

export const CREDENTIALS = {
  accessKeyId: 'AKIDCONFORMANCE0001',
  secretAccessKey: 'conformance/secret/key/0123456789abcdefghij',
  sessionToken: 'conformance-session-token',
};
export const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const INSTANCE = 'i-0123456789abcdef0';
const GROUP = 'sg-0123456789abcdef0';
const SPKI =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkLgoyL7Y5S9ZPn6sJ0L6ALhnXb1W6z4iLkY3S4c0rIsr7xqIe1Sg0hH2CqFfZQy3G4cKc3V6hT0nZ3o1Yd0Ykg==';

export interface ConformanceCall {
  name: string;
  /** The SigV4 service name, and the region both sides sign for. */
  signingName: string;
  region: string;
  /** Our client makes the call against `endpoint`; resolves to what the CA reads. */
  ours(endpoint: string): Promise<unknown>;
  sdk(endpoint: string): Promise<unknown>;
  /** The part of each side's result both must agree on. */
  readOurs(result: unknown): unknown;
  readSdk(result: unknown): unknown;
  /** Successful answers as the service sends them. */
  answers: SampleAnswer[];
  /** Error answers: both sides must fail with the same error code. */
  errors: SampleAnswer[];
  /** Our error's code, when our client reports it other than as an AwsServiceError. */
  ourErrorCode?: (e: unknown) => string | undefined;
}

const sdkConfig = (endpoint: string) => ({
  region: REGION,
  endpoint,
  credentials: CREDENTIALS,
  maxAttempts: 1,
});
const ours = { region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };

const xml = (status: number, body: string): SampleAnswer => ({
  status,
  headers: { 'Content-Type': 'text/xml;charset=UTF-8' },
  body,
});
const json = (status: number, body: unknown, headers: Record<string, string> = {}): SampleAnswer => ({
  status,
  headers: { 'Content-Type': 'application/x-amz-json-1.1', ...headers },
  body: JSON.stringify(body),
});
const ec2Error = (status: number, code: string) =>
  xml(
    status,
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>sample ${code}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-cb5432daacc0</RequestID></Response>`,
  );
const queryError = (status: number, code: string) =>
  xml(
    status,
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>sample ${code}</Message></Error><RequestId>4a1d8e6c-0000-4c2d-9f3e-1a2b3c4d5e6f</RequestId></ErrorResponse>`,
  );
const ec2Ok = (action: string, inner: string) =>
  xml(
    200,
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>${inner}</${action}Response>`,
  );

const items = (parent: XmlElement | undefined, name: string) =>
  childElement(parent, name)?.children.filter((c) => c.name === 'item' || c.name === 'member') ?? [];
const record = (v: unknown) => v as Record<string, unknown>;
const b64 = (v: unknown) => Buffer.from(v as Uint8Array).toString('base64');

const ec2 = (endpoint: string) => ec2QueryClient({ ...ours, endpoint });
const sdkEc2 = (endpoint: string) => new EC2Client(sdkConfig(endpoint));
const ec2Return = {
  readOurs: (r: unknown) => childText(r as XmlElement, 'return'),
  readSdk: (r: unknown) => String(record(r)['Return']),
};

export const CALLS: readonly ConformanceCall[] = [
  {
    name: 'STS GetCallerIdentity (a proof the CA forwards)',
    signingName: 'sts',
    region: REGION,
    ours: async (endpoint) => {
      const expect = {
        stsEndpoint: endpoint,
        region: REGION,
        serverId: 'lkp.example',
        keyFingerprint: 'SHA256:conformance',
        clockSkewSeconds: 300,
        now: new Date(),
      };
      const proof = buildIdentityProof({ ...expect, credentials: CREDENTIALS });
      return callSts(parseStsProof(proof, expect), 3000, httpStsTransport);
    },
    sdk: (endpoint) => new STSClient(sdkConfig(endpoint)).send(new GetCallerIdentityCommand({})),
    readOurs: (r) => r,
    readSdk: (r) => {
      const { Arn, Account, UserId } = record(r);
      return { Arn, Account, UserId };
    },
    answers: [
      xml(
        200,
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::${ACCOUNT}:assumed-role/dev/alice</Arn><UserId>AROAEXAMPLEID:alice</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      ),
    ],
    errors: [
      queryError(403, 'SignatureDoesNotMatch'),
      queryError(403, 'InvalidClientTokenId'),
      queryError(400, 'ExpiredToken'),
      queryError(400, 'Throttling'),
    ],
    // The CA reports STS refusals as LkpErrors naming the code: "(HTTP 403 SignatureDoesNotMatch)".
    ourErrorCode: (e) =>
      e instanceof LkpError ? /\(HTTP \d+ ([A-Za-z.]+)\)/.exec(e.message)?.[1] : undefined,
  },
  {
    name: 'KMS GetPublicKey',
    signingName: 'kms',
    region: REGION,
    ours: (endpoint) => kmsClient({ ...ours, endpoint }).call('GetPublicKey', { KeyId: 'alias/lkp-ca' }),
    sdk: (endpoint) =>
      new KMSClient(sdkConfig(endpoint)).send(new GetPublicKeyCommand({ KeyId: 'alias/lkp-ca' })),
    readOurs: (r) => {
      const { KeyId, KeySpec, KeyUsage, PublicKey, SigningAlgorithms } = record(r);
      return { KeyId, KeySpec, KeyUsage, PublicKey, SigningAlgorithms };
    },
    readSdk: (r) => {
      const { KeyId, KeySpec, KeyUsage, PublicKey, SigningAlgorithms } = record(r);
      return { KeyId, KeySpec, KeyUsage, PublicKey: b64(PublicKey), SigningAlgorithms };
    },
    answers: [
      json(200, {
        KeyId: KEY_ARN,
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        PublicKey: SPKI,
        SigningAlgorithms: ['ECDSA_SHA_256'],
      }),
    ],
    errors: [
      json(400, {
        __type: 'NotFoundException',
        message: 'Alias arn:aws:kms:eu-west-1:111122223333:alias/lkp-ca is not found.',
      }),
      json(400, { __type: 'com.amazonaws.kms#DisabledException', message: 'disabled' }),
      json(
        400,
        { Message: 'User is not authorized' },
        {
          'x-amzn-ErrorType':
            'AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/',
        },
      ),
      json(400, { __type: 'ThrottlingException', message: 'Rate exceeded' }),
    ],
  },
  {
    name: 'KMS Sign',
    signingName: 'kms',
    region: REGION,
    ours: (endpoint) =>
      kmsClient({ ...ours, endpoint }).call('Sign', {
        KeyId: KEY_ARN,
        Message: Buffer.from('to be signed').toString('base64'),
        MessageType: 'RAW',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    sdk: (endpoint) =>
      new KMSClient(sdkConfig(endpoint)).send(
        new SignCommand({
          KeyId: KEY_ARN,
          Message: Buffer.from('to be signed'),
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
    readOurs: (r) => {
      const { KeyId, Signature, SigningAlgorithm } = record(r);
      return { KeyId, Signature, SigningAlgorithm };
    },
    readSdk: (r) => {
      const { KeyId, Signature, SigningAlgorithm } = record(r);
      return { KeyId, Signature: b64(Signature), SigningAlgorithm };
    },
    answers: [
      json(200, {
        KeyId: KEY_ARN,
        Signature: Buffer.from('a DER-encoded ECDSA signature').toString('base64'),
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    ],
    errors: [
      json(400, { __type: 'KMSInvalidStateException', message: 'pending deletion' }),
      json(400, { __type: 'InvalidKeyUsageException', message: 'x' }),
    ],
  },
  {
    name: 'Lambda Invoke',
    signingName: 'lambda',
    region: REGION,
    ours: (endpoint) =>
      lambdaInvoker({ ...ours, endpoint }).invoke(
        'lkp-policy',
        Buffer.from('{"Kind":"LkpUserCertAuthorizationRequest"}'),
      ),
    sdk: (endpoint) =>
      new LambdaClient(sdkConfig(endpoint)).send(
        new InvokeCommand({
          FunctionName: 'lkp-policy',
          InvocationType: 'RequestResponse',
          Payload: Buffer.from('{"Kind":"LkpUserCertAuthorizationRequest"}'),
        }),
      ),
    readOurs: (r) => {
      const { statusCode, functionError, payload } = r as {
        statusCode: number;
        functionError?: string;
        payload: Buffer;
      };
      return { statusCode, functionError, payload: payload.toString('utf8') };
    },
    readSdk: (r) => {
      const { StatusCode, FunctionError, Payload } = record(r);
      return {
        statusCode: StatusCode,
        functionError: FunctionError,
        payload: Buffer.from(Payload as Uint8Array).toString('utf8'),
      };
    },
    answers: [
      {
        status: 200,
        headers: { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST' },
        body: '{"Authorized":true,"Principals":["ops"]}',
      },
      {
        status: 200,
        headers: {
          'Content-Type': 'application/json',
          'X-Amz-Executed-Version': '$LATEST',
          'X-Amz-Function-Error': 'Unhandled',
        },
        body: '{"errorType":"Runtime.CallbackHandlerDeprecated","errorMessage":"ERROR: ..."}',
      },
    ],
    errors: [
      {
        status: 404,
        headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ResourceNotFoundException' },
        body: '{"Type":"User","message":"Function not found: arn:aws:lambda:eu-west-1:111122223333:function:lkp-policy"}',
      },
      {
        status: 429,
        headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'TooManyRequestsException' },
        body: '{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}',
      },
      {
        status: 403,
        headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'AccessDeniedException' },
        body: '{"Message":"not authorized to perform: lambda:InvokeFunction"}',
      },
    ],
  },
  {
    name: 'EC2 DescribeInstances',
    signingName: 'ec2',
    region: REGION,
    ours: (endpoint) => ec2(endpoint).call('DescribeInstances', { InstanceId: [INSTANCE] }),
    sdk: (endpoint) => sdkEc2(endpoint).send(new DescribeInstancesCommand({ InstanceIds: [INSTANCE] })),
    readOurs: (r) =>
      items(r as XmlElement, 'reservationSet')
        .flatMap((res) => items(res, 'instancesSet'))
        .map((i) => ({
          id: childText(i, 'instanceId'),
          ip: childText(i, 'privateIpAddress'),
          profile: childText(childElement(i, 'iamInstanceProfile'), 'arn'),
          owner: ACCOUNT,
        })),
    readSdk: (r) =>
      ((record(r)['Reservations'] ?? []) as { Instances?: Record<string, unknown>[] }[])
        .flatMap((res) => res.Instances ?? [])
        .map((i) => ({
          id: i['InstanceId'],
          ip: i['PrivateIpAddress'],
          profile: record(i['IamInstanceProfile'])['Arn'],
          owner: ACCOUNT,
        })),
    answers: [
      ec2Ok(
        'DescribeInstances',
        `<reservationSet><item><reservationId>r-1234567890abcdef0</reservationId><ownerId>${ACCOUNT}</ownerId><instancesSet><item><instanceId>${INSTANCE}</instanceId><privateIpAddress>10.0.0.5</privateIpAddress><iamInstanceProfile><arn>arn:aws:iam::${ACCOUNT}:instance-profile/web</arn><id>AIPAEXAMPLE</id></iamInstanceProfile></item></instancesSet></item></reservationSet>`,
      ),
      ec2Ok('DescribeInstances', '<reservationSet/>'),
    ],
    errors: [
      ec2Error(400, 'InvalidInstanceID.NotFound'),
      ec2Error(400, 'InvalidInstanceID.Malformed'),
      ec2Error(503, 'RequestLimitExceeded'),
      ec2Error(401, 'AuthFailure'),
    ],
  },
  {
    name: 'EC2 DescribeSecurityGroupRules (leases)',
    signingName: 'ec2',
    region: REGION,
    ours: (endpoint) =>
      ec2(endpoint).call('DescribeSecurityGroupRules', {
        Filter: [{ Name: 'group-id', Value: [GROUP] }],
        MaxResults: 1000,
      }),
    sdk: (endpoint) =>
      sdkEc2(endpoint).send(
        new DescribeSecurityGroupRulesCommand({
          Filters: [{ Name: 'group-id', Values: [GROUP] }],
          MaxResults: 1000,
        }),
      ),
    readOurs: (r) => ({
      rules: items(r as XmlElement, 'securityGroupRuleSet').map((i) => [
        childText(i, 'securityGroupRuleId'),
        childText(i, 'cidrIpv4'),
        childText(i, 'fromPort'),
        childText(i, 'description'),
      ]),
      next: childText(r as XmlElement, 'nextToken'),
    }),
    readSdk: (r) => ({
      rules: ((record(r)['SecurityGroupRules'] ?? []) as Record<string, unknown>[]).map((i) => [
        i['SecurityGroupRuleId'],
        i['CidrIpv4'],
        String(i['FromPort']),
        i['Description'],
      ]),
      next: record(r)['NextToken'],
    }),
    answers: [
      ec2Ok(
        'DescribeSecurityGroupRules',
        `<securityGroupRuleSet><item><securityGroupRuleId>sgr-0123456789abcdef0</securityGroupRuleId><groupId>${GROUP}</groupId><groupOwnerId>${ACCOUNT}</groupOwnerId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><cidrIpv4>198.51.100.7/32</cidrIpv4><description>lkp lease until 1764770000</description></item></securityGroupRuleSet><nextToken>page-2</nextToken>`,
      ),
    ],
    errors: [ec2Error(400, 'InvalidGroup.NotFound'), ec2Error(400, 'UnauthorizedOperation')],
  },
  {
    name: 'EC2 AuthorizeSecurityGroupIngress (leases)',
    signingName: 'ec2',
    region: REGION,
    ours: (endpoint) =>
      ec2(endpoint).call('AuthorizeSecurityGroupIngress', {
        GroupId: GROUP,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: '198.51.100.7/32', Description: 'lkp lease' }],
          },
        ],
      }),
    sdk: (endpoint) =>
      sdkEc2(endpoint).send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: GROUP,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              IpRanges: [{ CidrIp: '198.51.100.7/32', Description: 'lkp lease' }],
            },
          ],
        }),
      ),
    ...ec2Return,
    answers: [
      ec2Ok(
        'AuthorizeSecurityGroupIngress',
        '<return>true</return><securityGroupRuleSet><item><securityGroupRuleId>sgr-0fedcba9876543210</securityGroupRuleId></item></securityGroupRuleSet>',
      ),
    ],
    errors: [
      ec2Error(400, 'InvalidPermission.Duplicate'),
      ec2Error(400, 'RulesPerSecurityGroupLimitExceeded'),
    ],
  },
  {
    name: 'EC2 ModifySecurityGroupRules (leases)',
    signingName: 'ec2',
    region: REGION,
    ours: (endpoint) =>
      ec2(endpoint).call('ModifySecurityGroupRules', {
        GroupId: GROUP,
        SecurityGroupRule: [
          {
            SecurityGroupRuleId: 'sgr-0123456789abcdef0',
            SecurityGroupRule: {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              CidrIpv6: '2001:db8::7/128',
              Description: 'lkp lease',
            },
          },
        ],
      }),
    sdk: (endpoint) =>
      sdkEc2(endpoint).send(
        new ModifySecurityGroupRulesCommand({
          GroupId: GROUP,
          SecurityGroupRules: [
            {
              SecurityGroupRuleId: 'sgr-0123456789abcdef0',
              SecurityGroupRule: {
                IpProtocol: 'tcp',
                FromPort: 22,
                ToPort: 22,
                CidrIpv6: '2001:db8::7/128',
                Description: 'lkp lease',
              },
            },
          ],
        }),
      ),
    ...ec2Return,
    answers: [ec2Ok('ModifySecurityGroupRules', '<return>true</return>')],
    errors: [ec2Error(400, 'InvalidSecurityGroupRuleId.NotFound')],
  },
  {
    name: 'EC2 RevokeSecurityGroupIngress (leases)',
    signingName: 'ec2',
    region: REGION,
    ours: (endpoint) =>
      ec2(endpoint).call('RevokeSecurityGroupIngress', {
        GroupId: GROUP,
        SecurityGroupRuleId: ['sgr-0123456789abcdef0', 'sgr-0fedcba9876543210'],
      }),
    sdk: (endpoint) =>
      sdkEc2(endpoint).send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: GROUP,
          SecurityGroupRuleIds: ['sgr-0123456789abcdef0', 'sgr-0fedcba9876543210'],
        }),
      ),
    ...ec2Return,
    answers: [ec2Ok('RevokeSecurityGroupIngress', '<return>true</return>')],
    errors: [ec2Error(400, 'InvalidSecurityGroupRuleId.NotFound'), ec2Error(400, 'InvalidGroup.NotFound')],
  },
  {
    name: 'IAM GetInstanceProfile',
    signingName: 'iam',
    // IAM is global: both sign for the partition's IAM region.
    region: 'us-east-1',
    ours: (endpoint) =>
      iamQueryClient({ ...ours, endpoint, partition: 'aws' }).call('GetInstanceProfile', {
        InstanceProfileName: 'web',
      }),
    sdk: (endpoint) =>
      new IAMClient({ ...sdkConfig(endpoint), region: 'us-east-1' }).send(
        new GetInstanceProfileCommand({ InstanceProfileName: 'web' }),
      ),
    readOurs: (r) => {
      const profile = childElement(
        childElement(r as XmlElement, 'GetInstanceProfileResult'),
        'InstanceProfile',
      );
      return {
        name: childText(profile, 'InstanceProfileName'),
        roles: items(profile, 'Roles').map((m) => childText(m, 'RoleName')),
      };
    },
    readSdk: (r) => {
      const profile = record(record(r)['InstanceProfile']);
      return {
        name: profile['InstanceProfileName'],
        roles: (profile['Roles'] as Record<string, unknown>[]).map((m) => m['RoleName']),
      };
    },
    answers: [
      xml(
        200,
        `<GetInstanceProfileResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetInstanceProfileResult><InstanceProfile><InstanceProfileId>AIPAEXAMPLE</InstanceProfileId><Roles><member><Path>/</Path><RoleName>web-role</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>arn:aws:iam::${ACCOUNT}:role/web-role</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></member></Roles><InstanceProfileName>web</InstanceProfileName><Path>/</Path><Arn>arn:aws:iam::${ACCOUNT}:instance-profile/web</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></InstanceProfile></GetInstanceProfileResult><ResponseMetadata><RequestId>37289fda-0000-11e3-0000-000000000000</RequestId></ResponseMetadata></GetInstanceProfileResponse>`,
      ),
    ],
    errors: [queryError(404, 'NoSuchEntity'), queryError(400, 'Throttling'), queryError(403, 'AccessDenied')],
  },
  ...lockStoreCalls(),
  ...instanceConnectEndpointCalls(),
];

/** Our error's code: the service's, as our clients report it. */
export function ourErrorCode(call: ConformanceCall, e: unknown): string | undefined {
  if (call.ourErrorCode !== undefined) return call.ourErrorCode(e);
  return e instanceof AwsServiceError ? e.code : undefined;
}

/**
 * The lock store's DynamoDB calls (src/locks/store.ts, JSON 1.0), made through the store itself, so
 * what is compared is what the CA sends for `lkp locks`, `lkp lock` and `lkp unlock`.
 */
function lockStoreCalls(): ConformanceCall[] {
  const table = 'lkp-locks';
  const lock: Lock = {
    LockId: 'lk-0123456789abcdef',
    Type: 'Caller',
    Value: `arn:aws:iam::${ACCOUNT}:user/mallory`,
    Reason: 'laptop stolen',
    CreatedBy: `arn:aws:sts::${ACCOUNT}:assumed-role/SecurityAdmin/pat`,
    CreatedAt: 1_800_000_000,
    ExpiresAt: 1_900_000_000,
  };
  const item = itemFromLock(lock) as Record<string, AttributeValue>;
  const store = (endpoint: string) => dynamoDbLockStore(table, dynamoDbClient({ ...ours, endpoint }));
  const sdkDb = (endpoint: string) => new DynamoDBClient(sdkConfig(endpoint));
  const dynamoJson = (status: number, body: unknown): SampleAnswer => ({
    status,
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'x-amzn-RequestId': 'CONFORMANCE0000000000000000000000000000000000000000',
    },
    body: JSON.stringify(body),
  });
  const dynamoError = (status: number, code: string) =>
    dynamoJson(status, { __type: `com.amazonaws.dynamodb.v20120810#${code}`, message: `sample ${code}` });
  const refusals = [
    dynamoError(400, 'ResourceNotFoundException'),
    dynamoError(400, 'AccessDeniedException'),
    dynamoError(400, 'ProvisionedThroughputExceededException'),
    dynamoJson(400, {
      __type: 'com.amazon.coral.availability#ThrottlingException',
      message: 'Rate exceeded',
    }),
  ];
  return [
    {
      name: 'DynamoDB Scan (lock store: the locks in force)',
      signingName: 'dynamodb',
      region: REGION,
      ours: (endpoint) => store(endpoint).list(),
      sdk: (endpoint) => sdkDb(endpoint).send(new ScanCommand({ TableName: table, ConsistentRead: true })),
      readOurs: (r) => r,
      readSdk: (r) => (record(r)['Items'] as unknown[]).map(lockFromItem),
      answers: [
        dynamoJson(200, { Count: 1, Items: [item], ScannedCount: 1 }),
        dynamoJson(200, { Count: 0, Items: [], ScannedCount: 0 }),
      ],
      errors: refusals,
    },
    {
      name: 'DynamoDB PutItem (lock store: lkp lock)',
      signingName: 'dynamodb',
      region: REGION,
      ours: (endpoint) => store(endpoint).add(lock),
      sdk: (endpoint) =>
        sdkDb(endpoint).send(
          new PutItemCommand({
            TableName: table,
            Item: item,
            ConditionExpression: 'attribute_not_exists(LockId)',
          }),
        ),
      // The store reads nothing from the answer; both must accept it.
      readOurs: () => 'stored',
      readSdk: () => 'stored',
      answers: [dynamoJson(200, {})],
      errors: [dynamoError(400, 'ConditionalCheckFailedException'), ...refusals],
    },
    {
      name: 'DynamoDB DeleteItem (lock store: lkp unlock)',
      signingName: 'dynamodb',
      region: REGION,
      ours: (endpoint) => store(endpoint).remove(lock.LockId),
      sdk: (endpoint) =>
        sdkDb(endpoint).send(
          new DeleteItemCommand({
            TableName: table,
            Key: { LockId: { S: lock.LockId } },
            ConditionExpression: 'attribute_exists(LockId)',
            ReturnValues: 'ALL_OLD',
          }),
        ),
      readOurs: (r) => r,
      readSdk: (r) => lockFromItem(record(r)['Attributes']),
      answers: [dynamoJson(200, { Attributes: item })],
      // A failed condition (no such lock) is an answer to the store, not an error (unlocking twice in
      // test/integration/locks-store.test.ts).
      errors: refusals,
    },
  ];
}

/**
 * The client's DescribeInstanceConnectEndpoints (client/lib/instances.ts, for `lkp ssh` and `lkp
 * tunnel` choosing an EC2 Instance Connect Endpoint): by the instance's VPC, and by the id a policy
 * names. The client finds its EC2 endpoint as the SDK does, from AWS_ENDPOINT_URL_EC2 among others,
 * so the recorder's address is given to it there for the call.
 */
function instanceConnectEndpointCalls(): ConformanceCall[] {
  const vpcId = 'vpc-0123456789abcdef0';
  const endpointId = 'eice-0123456789abcdef0';
  // The states the AWS CLI treats as usable, as the client filters them.
  const usable = ['create-complete', 'update-in-progress', 'update-failed', 'update-complete'];
  const ours = (endpoint: string, input: { id: string } | { vpcId: string }) =>
    withEnv('AWS_ENDPOINT_URL_EC2', endpoint, () =>
      describeInstances({ region: REGION, credentials: async () => CREDENTIALS }).describeEndpoints(
        input,
        REGION,
      ),
    );
  const sdk = (endpoint: string, input: { InstanceConnectEndpointIds?: string[]; vpc?: string[] }) =>
    sdkEc2(endpoint).send(
      new DescribeInstanceConnectEndpointsCommand({
        ...(input.InstanceConnectEndpointIds
          ? { InstanceConnectEndpointIds: input.InstanceConnectEndpointIds }
          : {}),
        Filters: [
          { Name: 'state', Values: usable },
          ...(input.vpc ? [{ Name: 'vpc-id', Values: input.vpc }] : []),
        ],
      }),
    );
  const readSdk = (r: unknown) =>
    ((record(r)['InstanceConnectEndpoints'] ?? []) as Record<string, unknown>[]).map((e) => ({
      id: e['InstanceConnectEndpointId'],
      dnsName: e['DnsName'],
      fipsDnsName: e['FipsDnsName'],
      vpcId: e['VpcId'],
      subnetId: e['SubnetId'],
    }));
  const endpointItem = (id: string, subnet: string) =>
    `<item><ownerId>${ACCOUNT}</ownerId><instanceConnectEndpointId>${id}</instanceConnectEndpointId><instanceConnectEndpointArn>arn:aws:ec2:${REGION}:${ACCOUNT}:instance-connect-endpoint/${id}</instanceConnectEndpointArn><state>create-complete</state><stateMessage/><dnsName>${id}.b67b86ba.ec2-instance-connect-endpoint.${REGION}.amazonaws.com</dnsName><fipsDnsName>${id}.b67b86ba.fips.ec2-instance-connect-endpoint.${REGION}.amazonaws.com</fipsDnsName><networkInterfaceIdSet><item>eni-0123456789abcdef0</item></networkInterfaceIdSet><vpcId>${vpcId}</vpcId><availabilityZone>${REGION}a</availabilityZone><createdAt>2026-01-01T00:00:00.000Z</createdAt><subnetId>${subnet}</subnetId><preserveClientIp>false</preserveClientIp><securityGroupIdSet><item>${GROUP}</item></securityGroupIdSet><tagSet/></item>`;
  const answers = [
    ec2Ok(
      'DescribeInstanceConnectEndpoints',
      `<instanceConnectEndpointSet>${endpointItem(endpointId, 'subnet-0123456789abcdef0')}${endpointItem('eice-0fedcba9876543210', 'subnet-0fedcba9876543210')}</instanceConnectEndpointSet>`,
    ),
    ec2Ok('DescribeInstanceConnectEndpoints', '<instanceConnectEndpointSet/>'),
  ];
  const errors = [
    ec2Error(400, 'InvalidInstanceConnectEndpointId.NotFound'),
    ec2Error(403, 'UnauthorizedOperation'),
    ec2Error(503, 'RequestLimitExceeded'),
  ];
  return [
    {
      name: 'EC2 DescribeInstanceConnectEndpoints by VPC (client: the endpoint for an instance)',
      signingName: 'ec2',
      region: REGION,
      ours: (endpoint) => ours(endpoint, { vpcId }),
      sdk: (endpoint) => sdk(endpoint, { vpc: [vpcId] }),
      readOurs: (r) => r,
      readSdk,
      answers,
      errors,
    },
    {
      name: 'EC2 DescribeInstanceConnectEndpoints by id (client: the endpoint a policy names)',
      signingName: 'ec2',
      region: REGION,
      ours: (endpoint) => ours(endpoint, { id: endpointId }),
      sdk: (endpoint) => sdk(endpoint, { InstanceConnectEndpointIds: [endpointId] }),
      readOurs: (r) => r,
      readSdk,
      answers,
      errors,
    },
  ];
}

/** Runs `use` with one environment variable set, and puts it back. */
async function withEnv<T>(name: string, value: string, use: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return await use();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}
