/**
 * serverless.yml as osls packages it, offline (dummy credentials: any AWS call would fail the
 * run): the least-privilege IAM of DESIGN §5, the retained KMS key, the function environment of
 * DESIGN §7, and a bundle that loads and answers in plain Node — against the KMS stand-in.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/cert/index.js';
import { startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { startKmsStandin } from '../../src/local/kms-standin.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SERVERLESS = join(ROOT, 'node_modules/osls/bin/serverless.js');
const ACCOUNT = '111122223333';
const LEASE_GROUPS = ['sg-0123456789abcdef0', 'sg-01234567'];
const SSH_FROM = '203.0.113.7/32';
const ALLOW =
  'arn:aws:sts::*:assumed-role/AWSReservedSSO_Admin_*/*=ec2-user,ubuntu arn:aws:iam::111122223333:user/alice=*';

type Json = Record<string, unknown>;
interface Packaged {
  dir: string;
  template: {
    Resources: Record<string, Json>;
    Conditions: Record<string, unknown>;
    Outputs: Record<string, Json>;
  };
}

let work: string;
let service: string;
let plain: Packaged;
let withPolicyAndUrl: Packaged;
let withLeases: Packaged;
let withHosts: Packaged;

/** A copy of what serverless.yml packages, so packaging never writes into the working tree. */
function copyService(): string {
  const dir = join(work, 'service');
  mkdirSync(dir);
  // Everything the downloads plugin packs (it runs `npm pack`, and builds when dist/ is older than
  // the sources): timestamps kept, so the suite's own build counts as fresh.
  const entries = ['serverless.yml', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'deploy'];
  for (const entry of [...entries, 'src', 'client', 'authorizers', 'host', 'bench', 'dist'])
    if (existsSync(join(ROOT, entry)))
      cpSync(join(ROOT, entry), join(dir, entry), { recursive: true, preserveTimestamps: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

async function slsPackage(name: string, params: string[] = []): Promise<Packaged> {
  const dir = join(work, name);
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  await run(
    process.execPath,
    [
      SERVERLESS,
      'package',
      '--stage',
      'ci',
      '--region',
      'us-east-1',
      '--package',
      dir,
      ...params.map((p) => `--param=${p}`),
    ],
    {
      cwd: service,
      timeout: 120_000,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_EC2_METADATA_DISABLED: 'true',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        CI: '1',
      },
    },
  );
  const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  return { dir, template };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lkp-sls-'));
  service = copyService();
  // One at a time: serverless-esbuild builds in the service folder.
  plain = await slsPackage('plain');
  withPolicyAndUrl = await slsPackage('policy-url', [
    'policyFunction=lkp-policy',
    'functionUrl=true',
    'functionUrlAuthType=NONE',
  ]);
  // Also the unix accounts and LKP_ALLOW settings: fewer packages to build.
  withLeases = await slsPackage('leases', [
    `ingressGroups=${LEASE_GROUPS.join(',')}`,
    'sudoGroups=admins',
    `allow=${ALLOW}`,
  ]);
  withHosts = await slsPackage('hosts', [
    'functionUrl=true',
    'exampleHost=true',
    `exampleHostSshFrom=${SSH_FROM}`,
  ]);
}, 480_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Literal CloudFormation conditions, as serverless.yml writes them once parameters are resolved. */
function condition(t: Packaged['template'], name: string): boolean {
  const evaluate = (c: unknown): boolean => {
    const [fn, args] = Object.entries(c as Json)[0] as [string, unknown[]];
    if (fn === 'Fn::Equals') return args[0] === args[1];
    if (fn === 'Fn::Not') return !evaluate(args[0]);
    if (fn === 'Fn::And') return args.every(evaluate);
    if (fn === 'Condition') return condition(t, args as unknown as string);
    throw new Error(`unexpected condition function ${fn}`);
  };
  return evaluate(t.Conditions[name]);
}

/** Resolves Fn::If against the template's conditions and drops AWS::NoValue. */
function resolveIfs(t: Packaged['template'], value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIfs(t, v)).filter((v) => v !== NO_VALUE);
  if (typeof value !== 'object' || value === null) return value;
  const ifArgs = (value as Json)['Fn::If'] as [string, unknown, unknown] | undefined;
  if (ifArgs) return resolveIfs(t, condition(t, ifArgs[0]) ? ifArgs[1] : ifArgs[2]);
  if ((value as Json).Ref === 'AWS::NoValue') return NO_VALUE;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIfs(t, v)]));
}
const NO_VALUE = Symbol('AWS::NoValue');

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every identity policy the stack creates (roles' inline policies and AWS::IAM::Policy). */
function identityStatements(t: Packaged['template']): Statement[] {
  const statements: Statement[] = [];
  for (const [name, resource] of Object.entries(t.Resources)) {
    if (resource.Condition !== undefined && !condition(t, resource.Condition as string)) continue;
    const props = resolveIfs(t, resource.Properties) as Json;
    const documents =
      resource.Type === 'AWS::IAM::Role'
        ? ((props.Policies as { PolicyDocument: Json }[] | undefined) ?? []).map((p) => p.PolicyDocument)
        : resource.Type === 'AWS::IAM::Policy'
          ? [props.PolicyDocument as Json]
          : [];
    if (resource.Type === 'AWS::IAM::Role')
      expect(props.ManagedPolicyArns, `${name} managed policies`).toBeUndefined();
    for (const doc of documents) statements.push(...(doc.Statement as Statement[]));
  }
  return statements;
}

/** The statements of one role's inline policies, Fn::If resolved. */
function roleStatements(t: Packaged['template'], role: string): Statement[] {
  const props = resolveIfs(t, t.Resources[role]?.Properties) as { Policies: { PolicyDocument: Json }[] };
  return props.Policies.flatMap((p) => p.PolicyDocument.Statement as Statement[]);
}

/** `Fn::Sub [arn…/${Id}, { Id: Fn::Select [n, Fn::Split [",", list]] }]` → the ARN text, pseudo parameters kept. */
function groupArn(resource: unknown): string {
  const [template, vars] = (resource as { 'Fn::Sub': [string, { Id: Json }] })['Fn::Sub'];
  const [n, split] = vars.Id['Fn::Select'] as [number, { 'Fn::Split': [string, string] }];
  const [separator, list] = split['Fn::Split'];
  return template.replace('${Id}', list.split(separator)[n] ?? '');
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
const KEY_ARN = { 'Fn::GetAtt': ['CaKey', 'Arn'] };

describe('the packaged template', () => {
  it('creates an asymmetric signing key in KMS that survives the stack', () => {
    const key = plain.template.Resources.CaKey!;
    expect(key).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(key.Properties).toMatchObject({
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      EnableKeyRotation: false,
    });
    expect(plain.template.Resources.CaKeyAlias?.Properties).toMatchObject({
      AliasName: 'alias/lkp-ci',
      TargetKeyId: { Ref: 'CaKey' },
    });
  });

  it('lets only the CA role sign: the key policy keeps kms:Sign away from account-wide IAM grants', () => {
    const statements = (
      plain.template.Resources.CaKey!.Properties as {
        KeyPolicy: { Statement: (Statement & { Principal: Json })[] };
      }
    ).KeyPolicy.Statement;
    const signers = statements.filter((s) => actionsOf(s).includes('kms:Sign'));
    expect(signers).toHaveLength(1);
    expect(signers[0]!.Principal).toEqual({ AWS: { 'Fn::GetAtt': ['CaRole', 'Arn'] } });
    expect(actionsOf(signers[0]!).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    for (const s of statements) for (const a of actionsOf(s)) expect(a).not.toMatch(/\*/);
  });

  it('grants kms:Sign and kms:GetPublicKey on the CA key only', () => {
    for (const variant of [plain, withPolicyAndUrl]) {
      const kms = identityStatements(variant.template).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('kms:')),
      );
      expect(kms).toHaveLength(1);
      expect(actionsOf(kms[0]!).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
      expect(resourcesOf(kms[0]!)).toEqual([KEY_ARN]);
    }
  });

  it('has no wildcard action, and Resource "*" only for the EC2 Describe calls', () => {
    for (const variant of [plain, withPolicyAndUrl, withLeases, withHosts]) {
      const statements = identityStatements(variant.template);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        for (const action of actionsOf(s)) expect(action).not.toMatch(/\*/);
        if (resourcesOf(s).some((r) => typeof r === 'string' && r.includes('*')))
          expect([['ec2:DescribeInstances'], ['ec2:DescribeSecurityGroupRules']]).toContainEqual(
            actionsOf(s),
          );
      }
    }
  });

  it('lets the CA read instance profiles of its own account, and groups only when it manages accounts', () => {
    for (const variant of [plain, withPolicyAndUrl, withLeases]) {
      const iam = identityStatements(variant.template).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('iam:')),
      );
      const expected = [
        ['iam:GetInstanceProfile', 'arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/*'],
        ...(variant === withLeases
          ? [['iam:GetGroup', 'arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*']]
          : []),
      ];
      expect(iam.map((s) => [actionsOf(s), resourcesOf(s)])).toEqual(
        expected.map(([action, arn]) => [[action], [{ 'Fn::Sub': arn }]]),
      );
      for (const statement of iam)
        expect(roleStatements(variant.template, 'CaRole')).toContainEqual(statement);
    }
    const env = (
      withLeases.template.Resources.CaLambdaFunction!.Properties as { Environment: { Variables: Json } }
    ).Environment.Variables;
    expect(env).toMatchObject({
      LKP_ACCOUNT_GROUPS: '',
      LKP_SUDO_GROUPS: 'admins',
      LKP_ACCOUNT_GROUP_PREFIX: 'lkp_',
      LKP_REMOVED_ACCOUNTS: 'lock',
    });
  });

  it('lets the CA change only the configured lease groups, and the sweeper only revoke in them', () => {
    const changers = (v: Packaged, role: string) =>
      roleStatements(v.template, role).filter((s) =>
        actionsOf(s).some((a) => /^ec2:(Authorize|Revoke|Modify)/.test(a)),
      );
    for (const role of ['CaRole', 'SweeperRole']) expect(changers(plain, role)).toEqual([]);

    const [ca, ...moreCa] = changers(withLeases, 'CaRole');
    expect(moreCa).toEqual([]);
    expect(actionsOf(ca!).sort()).toEqual([
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:ModifySecurityGroupRules',
      'ec2:RevokeSecurityGroupIngress',
    ]);
    const [sweeper, ...moreSweeper] = changers(withLeases, 'SweeperRole');
    expect(moreSweeper).toEqual([]);
    expect(actionsOf(sweeper!)).toEqual(['ec2:RevokeSecurityGroupIngress']);

    for (const s of [ca!, sweeper!]) {
      const arns = resourcesOf(s).map(groupArn);
      // The configured groups by ARN; the padding names no security group.
      expect(arns.filter((a) => /security-group\/sg-/.test(a))).toEqual(
        LEASE_GROUPS.map(
          (g) => `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:security-group/${g}`,
        ),
      );
      for (const a of arns) expect(a).toMatch(/:security-group\/(sg-[0-9a-f]+|unused-\d)$/);
    }
    const describe = roleStatements(withLeases.template, 'SweeperRole').filter((s) =>
      actionsOf(s).includes('ec2:DescribeSecurityGroupRules'),
    );
    expect(describe.map(resourcesOf)).toEqual([['*']]);
  });

  it('schedules the sweeper every minute, switched on only when there are lease groups', () => {
    const state = (v: Packaged) =>
      resolveIfs(v.template, v.template.Resources.SweeperEventsRuleSchedule1?.Properties) as Json;
    expect(state(withLeases)).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    expect(state(plain)).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'DISABLED' });
    const fn = withLeases.template.Resources.SweeperLambdaFunction!.Properties as Json;
    expect(fn).toMatchObject({ Handler: 'src/sweeper-handler.handler' });
    expect((fn.Environment as { Variables: Json }).Variables.LKP_INGRESS_GROUPS).toBe(LEASE_GROUPS.join(','));
    const ca = withLeases.template.Resources.CaLambdaFunction!.Properties as {
      Environment: { Variables: Json };
    };
    expect(ca.Environment.Variables).toMatchObject({
      LKP_INGRESS_GROUPS: LEASE_GROUPS.join(','),
      LKP_INGRESS_DEFAULT_PORTS: '22',
    });
  });

  it('invokes no policy function unless one is configured, and then only that one', () => {
    const invokers = (v: Packaged) =>
      identityStatements(v.template).filter((s) => actionsOf(s).some((a) => a.startsWith('lambda:')));
    expect(invokers(plain)).toEqual([]);
    const [invoke, ...rest] = invokers(withPolicyAndUrl);
    expect(rest).toEqual([]);
    expect(actionsOf(invoke!)).toEqual(['lambda:InvokeFunction']);
    expect(resourcesOf(invoke!)).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:lkp-policy' },
    ]);
  });

  it('configures the function from DESIGN §7 variables', () => {
    const fn = plain.template.Resources.CaLambdaFunction!.Properties as Json;
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    const env = (fn.Environment as { Variables: Json }).Variables;
    const join = (env.LKP_CA_KEY as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    expect(join[0]).toBe('');
    expect(join[1][0]).toMatch(/^kms:/);
    expect(join[1][1]).toEqual(KEY_ARN);
    expect(env).toMatchObject({
      LKP_SERVER_ID: 'lkp-ci',
      LKP_CA_ACCOUNT: { Ref: 'AWS::AccountId' },
      LKP_USER_CERT_TTL: '3600',
      LKP_HOST_CERT_TTL: '2592000',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(env.AUTHORIZATION_LAMBDA ?? '').toBe('');
    const withPolicy = (
      withPolicyAndUrl.template.Resources.CaLambdaFunction!.Properties as { Environment: { Variables: Json } }
    ).Environment.Variables;
    expect(withPolicy.AUTHORIZATION_LAMBDA).toBe('lkp-policy');
  });

  it('adds a Function URL only when asked, public only with AuthType NONE and only through the URL', () => {
    expect(condition(plain.template, 'HasFunctionUrl')).toBe(false);
    const t = withPolicyAndUrl.template;
    expect(condition(t, 'HasFunctionUrl')).toBe(true);
    expect(condition(t, 'HasPublicFunctionUrl')).toBe(true);
    expect(t.Resources.CaFunctionUrl?.Properties).toMatchObject({ AuthType: 'NONE' });
    expect(t.Resources.CaFunctionUrlPublicInvoke?.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      InvokedViaFunctionUrl: true,
    });
    expect(t.Outputs.CaFunctionUrl?.Value).toEqual({ 'Fn::GetAtt': ['CaFunctionUrl', 'FunctionUrl'] });
  });

  it('grants nothing without a policy or allow rules, and its Access output says so (DESIGN §3.4)', () => {
    const env = (v: Packaged) =>
      (v.template.Resources.CaLambdaFunction!.Properties as { Environment: { Variables: Json } }).Environment
        .Variables;
    expect(env(plain).LKP_ALLOW ?? '').toBe('');
    expect(JSON.stringify(resolveIfs(plain.template, plain.template.Outputs.Access?.Value))).toMatch(
      /NOBODY may log in.*--param=\\"allow=/,
    );
    expect(env(withLeases).LKP_ALLOW).toBe(ALLOW);
    expect(resolveIfs(withLeases.template, withLeases.template.Outputs.Access?.Value)).toBe(
      `built-in policy: only ${ALLOW} (LKP_ALLOW)`,
    );
    expect(resolveIfs(withPolicyAndUrl.template, withPolicyAndUrl.template.Outputs.Access?.Value)).toBe(
      'policy function lkp-policy decides who may log in',
    );
  });

  it("gives the URL its own function, the only one that trusts an event's sourceIp (issue 15, item 5)", () => {
    const envOf = (p: Packaged, fn: string) =>
      (p.template.Resources[fn]?.Properties as { Environment: { Variables: Json } }).Environment.Variables;
    // The Invoke function never reads URL events, so a forged one yields no address.
    expect(envOf(plain, 'CaLambdaFunction')).not.toHaveProperty('LKP_FUNCTION_URL');
    expect(envOf(withPolicyAndUrl, 'CaLambdaFunction')).not.toHaveProperty('LKP_FUNCTION_URL');
    expect(plain.template.Resources).not.toHaveProperty('CaUrlLambdaFunction');
    // The URL function: the same configuration plus the flag, and the URL and its permissions.
    const urlEnv = envOf(withPolicyAndUrl, 'CaUrlLambdaFunction');
    expect(urlEnv).toEqual({ ...envOf(withPolicyAndUrl, 'CaLambdaFunction'), LKP_FUNCTION_URL: 'true' });
    const t = withPolicyAndUrl.template;
    expect(t.Resources.CaFunctionUrl?.Properties).toMatchObject({
      TargetFunctionArn: { 'Fn::GetAtt': ['CaUrlLambdaFunction', 'Arn'] },
    });
    const permissions = Object.values(t.Resources).filter((r) => r.Type === 'AWS::Lambda::Permission');
    for (const p of permissions.map((r) => r.Properties as Json)) {
      if (p.FunctionName !== undefined && JSON.stringify(p.FunctionName).includes('CaLambdaFunction'))
        expect(p.Principal).not.toBe('*');
      // Whatever grants InvokeFunction on the URL function grants it through the URL only.
      if (
        JSON.stringify(p.FunctionName).includes('CaUrlLambdaFunction') &&
        p.Action === 'lambda:InvokeFunction'
      )
        expect(p.InvokedViaFunctionUrl).toBe(true);
    }
    expect(
      permissions.filter((r) => JSON.stringify(r.Properties).includes('CaUrlLambdaFunction')).length,
    ).toBe(2);
  });

  it('outputs the function, the key ARN and how to fetch the CA public key', () => {
    const { Outputs } = plain.template;
    expect(Outputs.CaFunctionName?.Value).toEqual({ Ref: 'CaLambdaFunction' });
    expect(Outputs.CaKeyArn?.Value).toEqual(KEY_ARN);
    expect(JSON.stringify(Outputs.CaPublicKeyHint?.Value)).toContain('{\\"Kind\\":\\"Info\\"}');
  });

  // authorizers/ is written separately; this variant runs once its example exists.
  it.skipIf(!existsSync(join(ROOT, 'authorizers/examples/work-hours.ts')))(
    'deploys the example policy and lets the CA invoke exactly it',
    async () => {
      const t = (await slsPackage('example', ['exampleAuthorizer=true'])).template;
      expect(t.Resources.PolicyLambdaFunction?.Properties).toMatchObject({ FunctionName: 'lkp-ci-policy' });
      const invoke = identityStatements(t).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
      expect(invoke.map(resourcesOf)).toEqual([
        [
          {
            'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:lkp-ci-policy',
          },
        ],
      ]);
    },
    120_000,
  );

  it('refuses a key spec outside the allowed list', async () => {
    const failure = await slsPackage('bad-key', ['keySpec=SYMMETRIC_DEFAULT']).then(
      () => undefined,
      (e: { stdout?: string }) => e,
    );
    expect(failure?.stdout).toMatch(/CaKey\.Properties\.KeySpec.*Value not found/);
  }, 120_000);
});

/** Every logical id the template refers to (Ref, Fn::GetAtt, Fn::Sub, DependsOn) that it does not declare. */
function undeclaredReferences(t: Packaged['template']): string[] {
  const referred = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Ref' && typeof v === 'string') referred.add(v);
      else if (key === 'Fn::GetAtt') referred.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]!);
      else if (key === 'DependsOn') for (const d of [v].flat()) referred.add(String(d));
      else if (key === 'Fn::Sub') {
        const [text, vars] = Array.isArray(v) ? (v as [string, Json]) : [v as string, {}];
        for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g))
          if (!(name!.split('.')[0]! in vars)) referred.add(name!.split('.')[0]!);
        walk(vars);
      } else walk(v);
    }
  };
  walk(t.Resources);
  walk(t.Outputs);
  return [...referred].filter((id) => !id.startsWith('AWS::') && !(id in t.Resources)).sort();
}

/** An output's text with its Fn::Sub variables filled in from `names` (logical id or id.attribute → text). */
function outputText(t: Packaged['template'], output: string, names: Record<string, string>): string {
  const fill = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = resolveIfs(t, value) as Json;
    if (typeof v === 'string') return v;
    if ('Fn::GetAtt' in v) return names[(v['Fn::GetAtt'] as string[]).join('.')] ?? '?';
    if ('Ref' in v) return names[v.Ref as string] ?? '?';
    const sub = v['Fn::Sub'] as string | [string, Json];
    const [text, vars] = Array.isArray(sub) ? sub : [sub, {}];
    return text.replace(/\$\{([^!}][^}]*)\}/g, (_, name: string) =>
      name in vars ? fill(vars[name]) : (names[name] ?? `?${name}`),
    );
  };
  return fill(t.Outputs[output]?.Value);
}
const NAMES = {
  CaLambdaFunction: 'lkp-ci-ca',
  'AWS::Region': 'us-east-1',
  'CaFunctionUrl.FunctionUrl': 'https://ca.lambda-url.us-east-1.on.aws/',
  'DownloadsFunctionUrl.FunctionUrl': 'https://dl.lambda-url.us-east-1.on.aws/',
  HostLaunchTemplate: 'lt-0123456789abcdef0',
};
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('downloads and the path to a first login (docs/deploy.md, "Zero to ssh")', () => {
  it('declares every resource it refers to, with and without a Function URL or example host', () => {
    for (const variant of [plain, withPolicyAndUrl, withLeases, withHosts])
      expect(undeclaredReferences(variant.template)).toEqual([]);
  });

  it('serves exactly the client tarball and the host agent it was built from, at a public URL', () => {
    const files = unzip(readFileSync(join(plain.dir, 'downloads.zip')));
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    expect([...files.keys()].sort()).toEqual([
      `dist/artifacts/lkp-${version}.tgz`,
      'dist/artifacts/lkp-host-agent',
      'src/artifacts-handler.cjs',
      'src/artifacts-handler.cjs.map',
    ]);
    expect(
      files.get('dist/artifacts/lkp-host-agent')?.equals(readFileSync(join(ROOT, 'host/lkp-host-agent'))),
    ).toBe(true);
    const t = plain.template;
    expect(t.Resources.DownloadsLambdaFunction?.Properties).toMatchObject({
      Handler: 'src/artifacts-handler.handler',
      Environment: { Variables: { LKP_ARTIFACTS_DIR: 'dist/artifacts' } },
    });
    expect(t.Resources.DownloadsFunctionUrl?.Properties).toMatchObject({ AuthType: 'NONE' });
    expect(t.Resources.DownloadsFunctionUrlPublicInvoke?.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      InvokedViaFunctionUrl: true,
    });
    // Its role is the framework's default: its own logs, nothing else.
    expect(t.Resources.DownloadsLambdaFunction?.Properties).toMatchObject({
      Role: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] },
    });
    for (const s of roleStatements(t, 'IamRoleLambdaExecution'))
      for (const a of actionsOf(s)) expect(a).toMatch(/^logs:/);
  });

  it('pins the install line and the user data to the sha256 of what it serves', () => {
    const files = unzip(readFileSync(join(plain.dir, 'downloads.zip')));
    const [tarball] = [...files.keys()].filter((f) => f.endsWith('.tgz'));
    const file = tarball!.split('/').pop()!;
    expect(outputText(plain.template, 'ClientInstall', NAMES)).toBe(
      `curl -fsSLo /tmp/${file} https://dl.lambda-url.us-east-1.on.aws/${file} && ` +
        `echo '${sha256(files.get(tarball!)!)}  /tmp/${file}' | sha256sum -c - && npm install -g /tmp/${file}`,
    );
    const agentSha = sha256(files.get('dist/artifacts/lkp-host-agent')!);
    expect(outputText(plain.template, 'HostUserData', NAMES)).toBe(
      '#!/bin/bash\n' +
        'f=$(mktemp) && curl -fsSL --retry 5 -o "$f" https://dl.lambda-url.us-east-1.on.aws/lkp-host-agent && ' +
        `echo '${agentSha}  '"$f" | sha256sum -c - && bash "$f" run --ca-function lkp-ci-ca --ca-region us-east-1\n`,
    );
  });

  it('tells hosts and people the same way to the CA: Invoke, the IAM Function URL, or the public one', () => {
    const caArgs = (v: Packaged) => outputText(v.template, 'HostUserData', NAMES).split(' run ')[1]!.trim();
    expect(caArgs(plain)).toBe('--ca-function lkp-ci-ca --ca-region us-east-1');
    expect(outputText(plain.template, 'ClientSetup', NAMES)).toBe(
      'lkp setup --function lkp-ci-ca --region us-east-1',
    );
    expect(caArgs(withHosts)).toBe(
      '--ca-iam-url https://ca.lambda-url.us-east-1.on.aws/ --ca-region us-east-1',
    );
    expect(outputText(withHosts.template, 'ClientSetup', NAMES)).toBe(
      'lkp setup --url https://ca.lambda-url.us-east-1.on.aws/ --iam --region us-east-1',
    );
    expect(caArgs(withPolicyAndUrl)).toBe('--ca https://ca.lambda-url.us-east-1.on.aws/');
    expect(outputText(withPolicyAndUrl.template, 'ClientSetup', NAMES)).toBe(
      'lkp setup --url https://ca.lambda-url.us-east-1.on.aws/',
    );
  });

  it('docs/deploy.md reaches a first login in at most six commands, each one an output of the stack', () => {
    const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    const section = doc.slice(
      doc.indexOf('## Zero to ssh'),
      doc.indexOf('\n## ', doc.indexOf('## Zero to ssh') + 1),
    );
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    const commands = block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
    expect(commands.length).toBeLessThanOrEqual(6);
    // Commands 3 to 6 are the outputs, in order, as the stack prints them (names differ); the
    // walk-through deploys with exampleHost and without a Function URL.
    const shape = (text: string) => text.split(' ').slice(0, 3).join(' ');
    expect(commands.slice(-4).map(shape)).toEqual([
      shape(outputText(plain.template, 'ClientInstall', NAMES)),
      shape(outputText(plain.template, 'ClientSetup', NAMES)),
      shape(outputText(withHosts.template, 'HostLaunch', NAMES)),
      shape(outputText(withHosts.template, 'FirstLogin', NAMES)),
    ]);
    // Every output the section's table names exists.
    for (const [, name] of section.matchAll(/^\| `([A-Za-z]+)` +\|/gm))
      expect(withHosts.template.Outputs).toHaveProperty(name!);
  });

  it('adds the example host only when asked: a role that can only reach the CA, IMDSv2, ssh from one range', () => {
    for (const id of ['HostRole', 'HostInstanceProfile', 'HostSecurityGroup', 'HostLaunchTemplate']) {
      expect(condition(plain.template, plain.template.Resources[id]!.Condition as string)).toBe(false);
      expect(condition(withHosts.template, withHosts.template.Resources[id]!.Condition as string)).toBe(true);
    }
    const t = withHosts.template;
    // Through an AWS_IAM Function URL: both permissions AWS requires, on the URL's function only.
    expect(roleStatements(t, 'HostRole')).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunctionUrl',
        Resource: { 'Fn::GetAtt': ['CaUrlLambdaFunction', 'Arn'] },
      }),
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': ['CaUrlLambdaFunction', 'Arn'] },
        Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
      }),
    ]);
    const template = resolveIfs(t, t.Resources.HostLaunchTemplate!.Properties) as {
      LaunchTemplateData: Json & { UserData: Json };
    };
    expect(template.LaunchTemplateData).toMatchObject({
      IamInstanceProfile: { Arn: { 'Fn::GetAtt': ['HostInstanceProfile', 'Arn'] } },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    });
    expect(template.LaunchTemplateData.UserData['Fn::Base64']).toEqual(
      resolveIfs(t, t.Outputs.HostUserData?.Value),
    );
    expect(resolveIfs(t, t.Resources.HostSecurityGroup!.Properties)).toMatchObject({
      SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: SSH_FROM }],
    });
    expect(outputText(t, 'HostLaunch', NAMES)).toContain(
      'aws ec2 run-instances --region us-east-1 --launch-template LaunchTemplateId=lt-0123456789abcdef0',
    );
    expect(t.Outputs.FirstLogin?.Value).toBe('lkp ssh ec2-user@lkp-first');
    expect(plain.template.Outputs.HostLaunch?.Condition).toBe('HasExampleHost');
  });
});

/** The packaged downloads function behind a loopback HTTP server, as its Function URL would serve it. */
async function serveDownloads(zip: string, tamper?: (files: Map<string, Buffer>) => void) {
  const dir = mkdtempSync(join(work, 'downloads-'));
  const files = unzip(readFileSync(zip));
  tamper?.(files);
  for (const [name, bytes] of files) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  // The bundle reads LAMBDA_TASK_ROOT at its first request; a fresh require per server.
  process.env.LAMBDA_TASK_ROOT = dir;
  const { handler } = createRequire(import.meta.url)(join(dir, 'src/artifacts-handler.cjs')) as {
    handler: (event: Json) => {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
      isBase64Encoded: boolean;
    };
  };
  const server = createServer((req, res) => {
    const answer = handler({
      rawPath: req.url,
      requestContext: { http: { method: req.method, path: req.url } },
    });
    res.writeHead(answer.statusCode, answer.headers);
    res.end(Buffer.from(answer.body, answer.isBase64Encoded ? 'base64' : 'utf8'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe.skipIf(process.getuid?.() !== 0)('the HostUserData output on a bare instance (local stack)', () => {
  let stack: LocalStack;
  let instance: AgentInstance;
  beforeAll(async () => {
    stack = await startLocalStack();
  }, 120_000);
  beforeEach(async () => {
    instance = await startAgentInstance(stack);
  });
  afterEach(async () => instance?.close());
  afterAll(async () => stack?.close());

  /** The output's user data, with this stack's URLs, run as cloud-init would (as root, under the instance's root). */
  async function runUserData(downloadsUrl: string) {
    const userData = outputText(withPolicyAndUrl.template, 'HostUserData', {
      ...NAMES,
      'DownloadsFunctionUrl.FunctionUrl': downloadsUrl,
      'CaFunctionUrl.FunctionUrl': stack.caUrl,
    });
    expect(userData).toMatch(/^#!\/bin\/bash\n/);
    return run('/bin/bash', ['-c', userData], {
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        LKP_HOST_ROOT: instance.root,
        LKP_HOST_IMDS_ENDPOINT: instance.imds.url,
      },
      timeout: 120_000,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  }

  it('fetches the agent it serves, checks it and gets a host certificate', async () => {
    const downloads = await serveDownloads(join(withPolicyAndUrl.dir, 'downloads.zip'));
    try {
      const result = await runUserData(downloads.url);
      expect(result.stderr).not.toContain('FAILED');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/: OK$/m);
      const cert = readFileSync(join(instance.root, 'etc/ssh/ssh_host_ed25519_key-cert.pub'), 'utf8');
      expect(parseCertificate(cert.trim()).principals).toContain(LOCAL_INSTANCE_ARN);
      expect(readFileSync(join(instance.root, 'usr/local/sbin/lkp-host-agent'))).toEqual(
        readFileSync(join(ROOT, 'host/lkp-host-agent')),
      );
    } finally {
      await downloads.close();
    }
  }, 120_000);

  it('runs nothing when the download does not match the digest', async () => {
    const downloads = await serveDownloads(join(withPolicyAndUrl.dir, 'downloads.zip'), (files) => {
      const agent = files.get('dist/artifacts/lkp-host-agent')!;
      files.set('dist/artifacts/lkp-host-agent', Buffer.concat([agent, Buffer.from('\ncurl attacker\n')]));
    });
    try {
      const result = await runUserData(downloads.url);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/FAILED/);
      expect(existsSync(join(instance.root, 'etc/ssh/ssh_host_ed25519_key-cert.pub'))).toBe(false);
      expect(existsSync(join(instance.root, 'usr/local/sbin/lkp-host-agent'))).toBe(false);
    } finally {
      await downloads.close();
    }
  }, 120_000);
});

describe('the bundle', () => {
  let zip: string;
  let files: Map<string, Buffer>;
  let bundle: string;
  beforeAll(() => {
    zip = join(plain.dir, 'ca.zip');
    files = unzip(readFileSync(zip));
    bundle = join(work, 'bundle', 'handler.cjs');
    mkdirSync(join(work, 'bundle'));
    writeFileSync(bundle, files.get('src/handler.cjs') ?? '');
  });

  it('is a zip under 1 MB holding only the handler and its source map', () => {
    expect(statSync(zip).size).toBeLessThan(1024 * 1024);
    expect([...files.keys()].sort()).toEqual(['src/handler.cjs', 'src/handler.cjs.map']);
    expect(plain.template.Resources.CaLambdaFunction?.Properties).toMatchObject({
      Handler: 'src/handler.handler',
    });
  });

  it('loads with an invalid environment and answers Internal instead of crashing', async () => {
    const { result, stderr } = await invokeBundle(bundle, { Kind: 'Info' }, {});
    expect(result).toEqual({ Error: { Code: 'Internal', Message: expect.any(String) } });
    expect(stderr).toContain('LKP_SERVER_ID is required');
  });

  it('answers Info with the public key of a KMS key (through the KMS stand-in)', async () => {
    const kms = await startKmsStandin({ stateDir: join(work, 'kms'), region: 'us-east-1', account: ACCOUNT });
    try {
      const key = await kms.createKey('ECC_NIST_P256', 'alias/lkp-ci');
      const { result } = await invokeBundle(
        bundle,
        { Kind: 'Info' },
        {
          LKP_CA_KEY: `kms:${key.arn}`,
          LKP_SERVER_ID: 'lkp-ci',
          LKP_CA_ACCOUNT: ACCOUNT,
          AWS_REGION: 'us-east-1',
          AWS_ENDPOINT_URL_KMS: kms.url,
          AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
        },
      );
      expect(result).toMatchObject({
        ServerId: 'lkp-ci',
        CaPublicKeys: [expect.stringMatching(/^ecdsa-sha2-nistp256 AAAA/)],
      });
      expect(kms.requestCount('GetPublicKey')).toBe(1);
    } finally {
      await kms.close();
    }
  });
});

/** Runs the bundled handler once in a fresh Node process, as Lambda would, with only `env`. */
async function invokeBundle(bundle: string, event: unknown, env: Record<string, string>) {
  const script = `
    const { handler } = require(process.argv[1]);
    handler(JSON.parse(process.argv[2]), { awsRequestId: 'bundle-test', invokedFunctionArn: 'arn:aws:lambda:us-east-1:${ACCOUNT}:function:lkp-ci-ca' })
      .then((r) => process.stdout.write('RESULT ' + JSON.stringify(r) + '\\n'));`;
  const { stdout, stderr } = await run(
    process.execPath,
    ['--enable-source-maps', '-e', script, bundle, JSON.stringify(event)],
    {
      env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      timeout: 20_000,
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the bundle gave no answer; stderr: ${stderr}`);
  return { result: JSON.parse(line.slice('RESULT '.length)) as unknown, stderr };
}

/** The entries of a zip archive (stored or deflated), read from its central directory. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const eocd = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive');
  const count = archive.readUInt16LE(eocd + 10);
  let at = archive.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = archive.readUInt16LE(at + 10);
    const size = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const skip = nameLength + archive.readUInt16LE(at + 30) + archive.readUInt16LE(at + 32);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    const local = archive.readUInt32LE(at + 42);
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const data = archive.subarray(start, start + size);
    if (!name.endsWith('/')) files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + skip;
  }
  return files;
}
