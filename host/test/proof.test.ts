/**
 * The agent's identity proof (DESIGN §3.1), signed with openssl in bash: for the same credentials,
 * inputs and clock it is exactly the TypeScript client's proof, and the STS stand-in accepts it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { startStsStandin, type StsStandin } from '../../src/local/sts-standin.js';
import type { IdentityProof } from '../../src/protocol.js';
import { sendRaw } from '../../test/helpers/raw-http.js';
import { runAgent } from './agent.js';

// Each run forks openssl a few dozen times: slow on a busy machine.
vi.setConfig({ testTimeout: 90_000 });

const FINGERPRINT = 'SHA256:C3P4O3NvhZrTF9W6GXbr4NuFee/zFRfnUA6LedINVSU';
const CLOCK = new Date('2026-03-04T05:06:07Z');
const credentials = {
  accessKeyId: 'ASIAEXAMPLEEXAMPLE12',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE+session/token==',
};

async function agentProof(
  opts: { stsEndpoint: string; region: string; serverId: string },
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  clock?: Date,
): Promise<IdentityProof> {
  const run = await runAgent(
    [
      'proof',
      '--sts-endpoint',
      opts.stsEndpoint,
      '--region',
      opts.region,
      '--server-id',
      opts.serverId,
      '--key-fingerprint',
      FINGERPRINT,
    ],
    {
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      ...(creds.sessionToken ? { AWS_SESSION_TOKEN: creds.sessionToken } : {}),
      ...(clock ? { LKP_HOST_TEST_TIME: clock.toISOString().replace(/[-:]|\.\d{3}/g, '') } : {}),
    },
  );
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as IdentityProof;
}

describe.concurrent('the agent signs the same proof as the TypeScript client', () => {
  it.each([
    ['an instance role session', 'https://sts.eu-west-1.amazonaws.com', 'eu-west-1', credentials],
    [
      'long-term keys and an endpoint with a port',
      'http://127.0.0.1:4567',
      'us-east-1',
      { accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: credentials.secretAccessKey },
    ],
    ['the China partition', 'https://sts.cn-north-1.amazonaws.com.cn', 'cn-north-1', credentials],
  ])('%s', async (_, stsEndpoint, region, creds) => {
    const inputs = { stsEndpoint, region, serverId: 'lkp-prod-"eu"\\' };
    const expected = buildIdentityProof({
      ...inputs,
      credentials: creds,
      keyFingerprint: FINGERPRINT,
      now: CLOCK,
    });
    expect(await agentProof(inputs, creds, CLOCK)).toEqual(expected);
  });
});

describe('the STS stand-in verifies the agent’s proof', () => {
  let sts: StsStandin;
  const arn = 'arn:aws:sts::111122223333:assumed-role/lkp-host/i-0123456789abcdef0';
  beforeAll(async () => {
    sts = await startStsStandin({ region: 'us-east-1', principals: [{ arn }] });
  });
  afterAll(() => sts?.close());

  const send = (proof: IdentityProof) =>
    sendRaw(proof.Url, { method: proof.Method, headers: proof.Headers }, proof.Body);

  it('answers with the instance role session that signed it', async () => {
    const [principal] = sts.principals;
    const proof = await agentProof(
      { stsEndpoint: sts.url, region: 'us-east-1', serverId: 'lkp-local' },
      principal?.credentials ?? credentials,
    );
    const reply = await send(proof);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(`<Arn>${arn}</Arn>`);
  });

  it('refuses the proof once a signed header is changed', async () => {
    const [principal] = sts.principals;
    const proof = await agentProof(
      { stsEndpoint: sts.url, region: 'us-east-1', serverId: 'lkp-local' },
      principal?.credentials ?? credentials,
    );
    const reply = await send({
      ...proof,
      Headers: { ...proof.Headers, 'X-Lkp-Server-Id': 'another-ca' },
    });
    expect(reply.status).toBe(403);
  });
});
