/**
 * The host agent's two AWS transports end to end, from a bare host to a host certificate: an
 * AWS_IAM Function URL (`--ca-iam-url`, a front that checks SigV4 as AWS does and passes signed
 * requests to the local CA) and Lambda Invoke (`--ca-function`, the Lambda stand-in through
 * LKP_HOST_LAMBDA_ENDPOINT, whose function hands each payload to the local CA). Both accept only
 * the instance role's signature, which the agent makes with openssl from the IMDS credentials.
 * When AWS refuses (HTTP 403), the agent names the permissions the instance role lacks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCertificate } from '../../src/cert/index.js';
import { startFunctionUrlFront, type FunctionUrlFront } from '../../src/local/function-url-front.js';
import { startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import { startLambdaStandin, type LambdaStandin } from '../../src/local/lambda-standin.js';
import { findSshd } from '../../src/local/openssh.js';
import { LOCAL_INSTANCE_ARN, LOCAL_REGION, startLocalStack, type LocalStack } from '../../src/local/stack.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const asRoot = process.getuid?.() === 0 && findSshd() !== undefined;
const CA_FUNCTION = 'lkp-ca';

let stack: LocalStack;
let front: FunctionUrlFront;
let lambda: LambdaStandin;
/** A Lambda endpoint that knows other credentials than the instance role's: every call is a 403. */
let strangerLambda: LambdaStandin;
const hosts: AgentInstance[] = [];

/** What the CA function does with an Invoke payload: the CA request itself, answered unwrapped. */
const caFunction = async (event: unknown) => {
  const answer = await fetch(stack.caUrl, { method: 'POST', body: JSON.stringify(event) });
  return (await answer.json()) as unknown;
};

async function bareHost(): Promise<AgentInstance> {
  const host = await startAgentInstance(stack);
  hosts.push(host);
  return host;
}

const hostCertificate = (host: AgentInstance) =>
  parseCertificate(readFileSync(join(host.root, 'etc/ssh/ssh_host_ed25519_key-cert.pub'), 'utf8').trim());
const nothingWritten = (host: AgentInstance) =>
  [
    'etc/ssh/ssh_host_ed25519_key-cert.pub',
    'etc/ssh/sshd_config.d/50-lkp.conf',
    'var/lib/lkp/host.state',
  ].filter((f) => existsSync(join(host.root, f)));

describe.skipIf(!asRoot)('lkp-host-agent through the AWS transports', () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    front = await startFunctionUrlFront({
      region: LOCAL_REGION,
      target: stack.caUrl,
      credentials: stack.host.credentials,
    });
    lambda = await startLambdaStandin({
      region: LOCAL_REGION,
      functions: { [CA_FUNCTION]: caFunction },
      credentials: stack.host.credentials,
    });
    strangerLambda = await startLambdaStandin({
      region: LOCAL_REGION,
      functions: { [CA_FUNCTION]: caFunction },
    });
  });

  afterAll(async () => {
    for (const host of hosts) await host.close();
    await front?.close();
    await lambda?.close();
    await strangerLambda?.close();
    await stack?.close();
  });

  it('--ca-iam-url: a bare host gets its certificate through the SigV4-checked Function URL', async () => {
    const host = await bareHost();
    const run = await host.runAgent(['run', '--ca-iam-url', front.url, '--no-reload']);
    expect(run.stderr).toMatch(/requesting a host certificate/);
    expect(run.code).toBe(0);
    expect(front.refusals()).toEqual([]);
    const cert = hostCertificate(host);
    expect(cert.kind).toBe('host');
    expect(cert.principals).toContain(LOCAL_INSTANCE_ARN);
    expect(readFileSync(join(host.root, 'etc/cron.d/lkp-host-renew'), 'utf8')).toContain(
      `run --ca-iam-url ${front.url}\n`,
    );
  });

  it('--ca-iam-url: a 403 names both permissions AWS requires, and nothing is written', async () => {
    const host = await bareHost();
    front.setPermitted(false);
    try {
      const run = await host.runAgent(['run', '--ca-iam-url', front.url, '--no-reload']);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(
        `the Function URL ${front.url} refused the signed request (HTTP 403): the instance role needs lambda:InvokeFunctionUrl AND lambda:InvokeFunction with the condition lambda:InvokedViaFunctionUrl=true on the CA function (AWS requires both since October 2025)`,
      );
      expect(nothingWritten(host)).toEqual([]);
    } finally {
      front.setPermitted(true);
    }
  });

  it('--ca-function: a bare host gets its certificate through Lambda Invoke', async () => {
    const host = await bareHost();
    const run = await host.runAgent(['run', '--ca-function', CA_FUNCTION, '--no-reload'], {
      LKP_HOST_LAMBDA_ENDPOINT: lambda.url,
    });
    expect(run.stderr).toMatch(/requesting a host certificate/);
    expect(run.code).toBe(0);
    const kinds = (lambda.invocations(CA_FUNCTION) as { Kind: string }[]).map((e) => e.Kind);
    expect(kinds).toContain('Info');
    expect(kinds).toContain('Host');
    expect(hostCertificate(host).principals).toContain(LOCAL_INSTANCE_ARN);
    expect(readFileSync(join(host.root, 'etc/cron.d/lkp-host-renew'), 'utf8')).toContain(
      `run --ca-function ${CA_FUNCTION} --ca-region ${LOCAL_REGION}\n`,
    );
  });

  it('--ca-function: a 403 names lambda:InvokeFunction, and nothing is written', async () => {
    const host = await bareHost();
    const run = await host.runAgent(['run', '--ca-function', CA_FUNCTION, '--no-reload'], {
      LKP_HOST_LAMBDA_ENDPOINT: strangerLambda.url,
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      `Lambda refused to invoke ${CA_FUNCTION} (HTTP 403): the instance role needs lambda:InvokeFunction on the CA function`,
    );
    expect(strangerLambda.invocations(CA_FUNCTION)).toEqual([]);
    expect(nothingWritten(host)).toEqual([]);
  });
});
