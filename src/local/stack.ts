/**
 * The local stack (DESIGN §6): stand-ins for STS, KMS, EC2, IAM and Lambda, and the real `lkp-ca serve`
 * process reaching them through the same environment variables as the Lambda (AWS_ENDPOINT_URL_*),
 * all on loopback with no AWS account.
 */
import { spawn } from 'node:child_process';
import { stopChild } from './process.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSigner } from '../signer/file.js';
import { kmsSigner } from '../signer/kms.js';
import { kmsClient } from '../aws/kms-json.js';
import type { Signer } from '../signer/signer.js';
import { localCredentials } from './credentials.js';
import { startDynamoDbStandin, type DynamoDbStandin } from './dynamodb-standin.js';
import {
  startEc2Standin,
  type Ec2Standin,
  type LocalInstance,
  type LocalInstanceConnectEndpoint,
} from './ec2-standin.js';
import { startEiceStandin, type EiceStandin } from './eice-standin.js';
import { startIamStandin, type IamStandin, type LocalRole } from './iam-standin.js';
import { startKmsStandin, type KmsStandin } from './kms-standin.js';
import { startLambdaStandin, type LambdaStandin, type StandinHandler } from './lambda-standin.js';
import { generateKeyPair } from './openssh.js';
import {
  startStsStandin,
  type LocalPrincipal,
  type LocalPrincipalSpec,
  type StsStandin,
} from './sts-standin.js';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '111122223333';
export const LOCAL_SERVER_ID = 'lkp-local';
export const LOCAL_INSTANCE_ID = 'i-0123456789abcdef0';
export const LOCAL_INSTANCE_ARN = `arn:aws:ec2:${LOCAL_REGION}:${LOCAL_ACCOUNT}:instance/${LOCAL_INSTANCE_ID}`;
export const LOCAL_INSTANCE_NAME = 'lkp-demo';
/** The IAM user who asks for user certificates (`user` of the stack). */
export const LOCAL_USER_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`;

/** The demo instance's instance profile and its role: the `host` principal is a session of that role (DESIGN §3.4). */
export const LOCAL_INSTANCE_PROFILE = 'lkp-demo-instance';
export const LOCAL_INSTANCE_ROLE: LocalRole = {
  roleName: 'lkp-demo-instance',
  roleId: 'AROALKPDEMOINSTANCE01',
};

export const LOCAL_POLICY_FUNCTION = 'lkp-local-policy';
/** The lock table (LKP_LOCKS_TABLE) in the DynamoDB stand-in, and the admin allowed to lock (LKP_ADMINS). */
export const LOCAL_LOCKS_TABLE = 'lkp-locks';
export const LOCAL_ADMIN_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:user/admin`;
const CA_KEY_ALIAS = 'alias/lkp-ca';

/** The demo instance, as EC2 describes it: reachable on loopback, so its host certificate can name 127.0.0.1. */
export const LOCAL_INSTANCES: readonly LocalInstance[] = [
  {
    instanceId: LOCAL_INSTANCE_ID,
    privateIp: '127.0.0.1',
    privateDnsName: 'localhost',
    tags: { Name: LOCAL_INSTANCE_NAME },
    instanceProfileArn: `arn:aws:iam::${LOCAL_ACCOUNT}:instance-profile/${LOCAL_INSTANCE_PROFILE}`,
  },
];

/**
 * What the local CA's built-in policy grants (LKP_ALLOW): the stack's IAM users, any login but root —
 * and the login of whoever runs the stack, which the demo's sshd serves (root in a CI container).
 */
export const LOCAL_ALLOW = `arn:aws:iam::${LOCAL_ACCOUNT}:user/*=*${userInfo().username === 'root' ? ',root' : ''}`;

/**
 * The demo instance as a client outside its VPC sees it (docs/eice.md): a private IP on no network
 * of this machine, no public IP, and an EC2 Instance Connect Endpoint in its subnet. The EICE
 * stand-in maps that private IP to the demo sshd on loopback; no packet goes to the address.
 */
export const LOCAL_PRIVATE_IP = '10.213.41.7';
export const LOCAL_EICE: LocalInstanceConnectEndpoint = {
  id: 'eice-0123456789abcdef0',
  vpcId: 'vpc-0123456789abcdef0',
  subnetId: 'subnet-0123456789abcdef0',
  dnsName: `eice-0123456789abcdef0.lkp-local.ec2-instance-connect-endpoint.${LOCAL_REGION}.amazonaws.com`,
};
export const LOCAL_PRIVATE_INSTANCES: readonly LocalInstance[] = LOCAL_INSTANCES.map((i) => ({
  instanceId: i.instanceId,
  privateIp: LOCAL_PRIVATE_IP,
  vpcId: LOCAL_EICE.vpcId,
  subnetId: LOCAL_EICE.subnetId,
  ...(i.tags ? { tags: i.tags } : {}),
}));

/** The security group the local stack's CA may open for callers (LKP_INGRESS_GROUPS). */
export const LOCAL_SECURITY_GROUP = 'sg-0123456789abcdef0';

export interface LocalStack {
  /** A temp folder for keys and state, removed by close(). */
  dir: string;
  sts: StsStandin;
  kms: KmsStandin;
  ec2: Ec2Standin;
  /** Serves the demo instance's instance profile (GetInstanceProfile). */
  iam: IamStandin;
  /** Present when a policy module runs as AUTHORIZATION_LAMBDA. */
  lambda: LambdaStandin | undefined;
  /** Holds the lock table (LKP_LOCKS_TABLE). */
  dynamodb: DynamoDbStandin;
  /** LOCAL_EICE's OpenTunnel, for every principal STS knows; routes are set once an sshd listens. */
  eice: EiceStandin;
  caUrl: string;
  /** The environment the CA runs with: the same configuration drives the Lambda handler in tests. */
  caEnv: Readonly<Record<string, string>>;
  /** A signer holding the CA's own key, for tests that forge certificates with it. */
  caSigner(): Promise<Signer>;
  /** An IAM user who asks for user certificates. */
  user: LocalPrincipal;
  /** The instance's role session (assumed-role/<LOCAL_INSTANCE_ROLE>/<instance id>), which asks for its host certificate. */
  host: LocalPrincipal;
  /** An IAM user named in LKP_ADMINS: may lock and unlock (the last of sts.principals). */
  admin: LocalPrincipal;
  /** Every line the CA wrote on stdout (its audit log). */
  caOutput(): string;
  /** Stops `service` when the stack closes (before what started earlier), e.g. the demo's sshd. */
  adopt<T extends { close(): Promise<void> }>(service: T): T;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  /** Extra environment for the CA process (e.g. LKP_USER_CERT_TTL). */
  caEnv?: Record<string, string>;
  /** More identities the STS stand-in knows, after the user and the host (tests: root, other accounts). */
  extraPrincipals?: LocalPrincipalSpec[];
  /** Where the CA key lives: the KMS stand-in (default, as deployed) or an OpenSSH key file. */
  caKey?: 'kms' | 'file';
  /**
   * The policy to run as AUTHORIZATION_LAMBDA: the absolute path of a built module exporting
   * `handler`, or a handler (the demo's); default: the built-in policy.
   */
  policyModule?: string | StandinHandler;
  /** Folder for the KMS stand-in's keys and the lock table; reuse it to keep both across runs. Default: inside `dir`. */
  stateDir?: string;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const dir = mkdtempSync(join(tmpdir(), 'lkp-local-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  const started = async <T extends { close(): Promise<void> }>(service: Promise<T>): Promise<T> => {
    const s = await service;
    cleanups.push(() => s.close());
    return s;
  };
  try {
    // One set of keys for the CA's "role", accepted by every service stand-in, as AWS would.
    const credentials = localCredentials();
    const sts = await started(
      startStsStandin({
        region: LOCAL_REGION,
        principals: [
          { arn: LOCAL_USER_ARN },
          {
            arn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${LOCAL_INSTANCE_ROLE.roleName}/${LOCAL_INSTANCE_ID}`,
            roleId: LOCAL_INSTANCE_ROLE.roleId,
          },
          ...(opts.extraPrincipals ?? []),
          { arn: LOCAL_ADMIN_ARN },
        ],
      }),
    );
    const [user, host] = sts.principals as [LocalPrincipal, LocalPrincipal];
    const admin = sts.principals.at(-1) as LocalPrincipal;
    const kms = await started(
      startKmsStandin({
        stateDir: opts.stateDir ?? join(dir, 'kms'),
        region: LOCAL_REGION,
        account: LOCAL_ACCOUNT,
        credentials,
      }),
    );
    const ec2 = await started(
      startEc2Standin({
        region: LOCAL_REGION,
        account: LOCAL_ACCOUNT,
        instances: LOCAL_INSTANCES,
        securityGroups: [{ groupId: LOCAL_SECURITY_GROUP }],
        credentials,
        // The user's `lkp` looks instances up by id and Name tag with their own keys.
        callers: [user.credentials],
      }),
    );
    const iam = await started(
      startIamStandin({
        account: LOCAL_ACCOUNT,
        instanceProfiles: { [LOCAL_INSTANCE_PROFILE]: [LOCAL_INSTANCE_ROLE] },
        credentials,
      }),
    );
    const dynamodb = await started(
      startDynamoDbStandin({
        region: LOCAL_REGION,
        tables: { [LOCAL_LOCKS_TABLE]: 'LockId' },
        stateDir: opts.stateDir ?? join(dir, 'dynamodb'),
        credentials,
      }),
    );
    const eice = await started(
      startEiceStandin({
        region: LOCAL_REGION,
        endpointId: LOCAL_EICE.id,
        findCredentials: (id) => sts.principals.find((p) => p.credentials.accessKeyId === id)?.credentials,
      }),
    );
    const lambda = opts.policyModule
      ? await started(
          startLambdaStandin({
            region: LOCAL_REGION,
            functions: { [LOCAL_POLICY_FUNCTION]: opts.policyModule },
            credentials,
          }),
        )
      : undefined;

    const caKey = await localCaKey(opts.caKey ?? 'kms', kms, dir);
    const caEnv: Record<string, string> = {
      LKP_CA_KEY: caKey.spec,
      LKP_SERVER_ID: LOCAL_SERVER_ID,
      LKP_ALLOWED_ACCOUNTS: LOCAL_ACCOUNT,
      LKP_CA_ACCOUNT: LOCAL_ACCOUNT,
      LKP_INGRESS_GROUPS: LOCAL_SECURITY_GROUP,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_ENDPOINT_URL_KMS: kms.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ENDPOINT_URL_IAM: iam.url,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
      LKP_LOCKS_TABLE: LOCAL_LOCKS_TABLE,
      LKP_ADMINS: LOCAL_ADMIN_ARN,
      ...(lambda
        ? { AWS_ENDPOINT_URL_LAMBDA: lambda.url, AUTHORIZATION_LAMBDA: LOCAL_POLICY_FUNCTION }
        : opts.caEnv?.AUTHORIZATION_LAMBDA
          ? {}
          : { LKP_ALLOW: LOCAL_ALLOW }),
      ...opts.caEnv,
    };
    const ca = await startCaProcess(caEnv);
    cleanups.push(ca.stop);
    return {
      dir,
      sts,
      kms,
      ec2,
      iam,
      lambda,
      dynamodb,
      eice,
      caUrl: ca.url,
      caEnv,
      caSigner: caKey.signer,
      user,
      host,
      admin,
      caOutput: ca.output,
      adopt: (service) => {
        cleanups.push(() => service.close());
        return service;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The CA key: `alias/lkp-ca` in the KMS stand-in (kept across runs with the same stateDir), or a key file. */
async function localCaKey(
  kind: 'kms' | 'file',
  kms: KmsStandin,
  dir: string,
): Promise<{ spec: string; signer: () => Promise<Signer> }> {
  if (kind === 'file') {
    const key = await generateKeyPair(dir, 'ca_key', 'ed25519');
    return { spec: `file:${key.privatePath}`, signer: () => fileSigner(key.privatePath) };
  }
  const key = kms.findKey(CA_KEY_ALIAS) ?? (await kms.createKey('ECC_NIST_P256', CA_KEY_ALIAS));
  const client = () =>
    kmsClient({ region: kms.region, endpoint: kms.url, credentials: kms.credentials, maxAttempts: 1 });
  return { spec: `kms:${CA_KEY_ALIAS}`, signer: () => kmsSigner(key.arn, client()) };
}

/** The package root, whether this module runs from dist/ or from the sources under vitest. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the lkp package root');
    dir = parent;
  }
  return dir;
}

/** A file `npm run build` makes under dist/, e.g. builtFile('src', 'cli.js') for `lkp-ca`. */
export function builtFile(...path: string[]): string {
  const file = join(packageRoot(), 'dist', ...path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return file;
}

/** Starts `lkp-ca serve --port 0` and waits for its `listening on …` line. */
export async function startCaProcess(
  env: Record<string, string>,
): Promise<{ url: string; output(): string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [builtFile('src', 'cli.js'), 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Chunks, joined only when asked for: the audit log grows by a line per request, and the
  // benchmarks send thousands.
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => stdout.push(c));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const output = () => Buffer.concat(stdout).toString();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lkp-ca did not start within 10 s:\n${stderr}`)), 10_000);
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output());
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lkp-ca exited with code ${code}:\n${stderr}`));
    });
  });
  return { url, output, stop: () => stopChild(child) };
}

/**
 * The environment `lkp` runs in as the stack's user (alice) from a throwaway HOME: her keys, the
 * region, and the EC2 endpoint the client looks instances up in; `extra` adds or overrides.
 */
export function userEnvironment(
  stack: LocalStack,
  home: string,
  ec2Url: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: stack.user.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.user.credentials.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL_EC2: ec2Url,
    ...extra,
  };
}
