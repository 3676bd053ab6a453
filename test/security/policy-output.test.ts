/**
 * Malicious or broken policy output (DESIGN §3.4 fail closed, §5 "nothing signs unless … the
 * policy said yes in time, and every option is valid"), through the real path: `lkp-ca serve` →
 * Lambda stand-in → a policy module. The module answers by the request's SshUsername (host
 * requests: by the first requested name), so one stack serves every case.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { describeCertificate } from '../../src/local/openssh.js';
import {
  LOCAL_INSTANCE_ARN,
  LOCAL_POLICY_FUNCTION,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { LocalPrincipal } from '../../src/local/sts-standin.js';
import type { InfoResponse } from '../../src/protocol.js';
import {
  ed25519PublicKey,
  expectNoSecretsIn,
  expectRefused,
  fingerprint,
  postCa,
  writePolicyModule,
  principalSecrets,
} from '../helpers/attack.js';

const POLICY_TIMEOUT_MS = 300;
/** The policy's deliberately slow answer; the CA must have answered long before it. */
const SLOW_POLICY_MS = 4000;

const HOSTILE_REASON = `nope\n{"decision":"allow"}\u001b[2J\u0000 ünïcode\t${'x'.repeat(400)}`;

const many = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
const allow = (extra: Record<string, unknown>) => ({ Authorized: true, ...extra });
const options = (o: Record<string, unknown>) => allow({ CertificateOptions: o });

/** [what, answer, status]; `answer` is the JSON the policy returns. */
const BROKEN: [string, unknown, number][] = [
  ['a string "true"', 'true', 502],
  ['an array', [{ Authorized: true }], 502],
  ['a number', 1, 502],
  ['Authorized: "true"', { Authorized: 'true' }, 502],
  ['authorized: 1', { authorized: 1 }, 502],
  ['Authorized: null', { Authorized: null }, 502],
  ['Authorized: {}', { Authorized: {} }, 502],
  ['an empty object', {}, 502],
  ['AUTHORIZED in capitals', { AUTHORIZED: true }, 502],
  ['both Authorized and authorized', { Authorized: true, authorized: true }, 502],
  ['Authorized: true and authorized: false', { Authorized: true, authorized: false }, 502],
  ['an explicit denial', { Authorized: false }, 403],
  ['a denial with principals', { Authorized: false, Principals: ['root'] }, 403],
  ['a Reason that is not a string', { Authorized: false, Reason: { text: 'no' } }, 502],
  ['a Reason that is not a string, on a yes', allow({ Reason: 42 }), 502],
  ['Reason and reason both', { Authorized: false, Reason: 'a', reason: 'b' }, 502],
  ['empty principals', allow({ Principals: [] }), 502],
  ['a principal with a comma', allow({ Principals: ['ec2-user,root'] }), 502],
  ['a principal *', allow({ Principals: ['*'] }), 502],
  ['a principal with ?', allow({ Principals: ['roo?'] }), 502],
  ['a principal with a space', allow({ Principals: ['ec2-user root'] }), 502],
  ['a principal with a tab', allow({ Principals: ['a\tb'] }), 502],
  ['a principal with NUL', allow({ Principals: ['root\u0000x'] }), 502],
  ['a principal with a newline', allow({ Principals: ['a\nroot'] }), 502],
  ['a non-ASCII principal', allow({ Principals: ['rоot'] }), 502],
  ['an overlong principal', allow({ Principals: ['a'.repeat(257)] }), 502],
  ['an empty principal', allow({ Principals: [''] }), 502],
  ['a number principal', allow({ Principals: [0] }), 502],
  ['33 principals', allow({ Principals: many(33) }), 502],
  ['Principals as a string', allow({ Principals: 'root' }), 502],
  ['ForceCommand with a newline', options({ ForceCommand: 'uptime\nrm -rf /' }), 502],
  ['ForceCommand with a CR', options({ ForceCommand: 'uptime\rx' }), 502],
  ['ForceCommand with NUL', options({ ForceCommand: 'uptime\u0000x' }), 502],
  ['an empty ForceCommand', options({ ForceCommand: '' }), 502],
  ['ForceCommand as an array', options({ ForceCommand: ['uptime'] }), 502],
  ['SourceAddress "any"', options({ SourceAddress: 'any' }), 502],
  ['SourceAddress with a space', options({ SourceAddress: '10.0.0.0/8, 192.0.2.1' }), 502],
  ['SourceAddress with a /33', options({ SourceAddress: '10.0.0.0/33' }), 502],
  ['SourceAddress with host bits', options({ SourceAddress: '10.0.0.1/8' }), 502],
  ['SourceAddress with leading zeros', options({ SourceAddress: '010.0.0.1' }), 502],
  ['SourceAddress with a zone', options({ SourceAddress: 'fe80::1%eth0' }), 502],
  ['SourceAddress *', options({ SourceAddress: '*' }), 502],
  ['an empty SourceAddress', options({ SourceAddress: '' }), 502],
  ['SourceAddress with a trailing comma', options({ SourceAddress: '10.0.0.0/8,' }), 502],
  ['SourceAddress with a newline', options({ SourceAddress: '10.0.0.0/8\n' }), 502],
  ['SourceAddress as a list', options({ SourceAddress: ['10.0.0.0/8'] }), 502],
  ['an unknown option', options({ PermitEverything: true }), 502],
  ['an option in camelCase and PascalCase', options({ PermitPty: true, permitPty: false }), 502],
  ['an unknown top-level field', allow({ Admin: true }), 502],
  ['PermitPty: "yes"', options({ PermitPty: 'yes' }), 502],
  ['ValidForSeconds -1', options({ ValidForSeconds: -1 }), 502],
  ['ValidForSeconds 0', options({ ValidForSeconds: 0 }), 502],
  ['ValidForSeconds 1.5', options({ ValidForSeconds: 1.5 }), 502],
  ['ValidForSeconds "60"', options({ ValidForSeconds: '60' }), 502],
  ['ValidForSeconds 1e100', options({ ValidForSeconds: 1e100 }), 502],
  ['CertificateOptions as a string', allow({ CertificateOptions: 'permit-pty' }), 502],
  ['a TargetAddress that is an ssh option', allow({ TargetAddress: '-oProxyCommand=sh' }), 502],
  [
    'a jumpbox user that is an ssh option',
    allow({ Jumpboxes: [{ Address: 'bastion.example', User: '-oProxyCommand=sh' }] }),
    502,
  ],
  [
    'a jumpbox with empty principals',
    allow({ Jumpboxes: [{ Address: 'bastion.example', User: 'ec2-user', Principals: [] }] }),
    502,
  ],
];

/** Behaviours that are not a JSON answer; the module implements them by name. */
const SPECIAL: [string, string, number][] = [
  ['a FunctionError (the policy throws)', 'throws', 502],
  ['a rejected promise', 'rejects', 502],
  ['no answer at all (undefined)', 'nothing', 502],
  ['a non-JSON answer', 'nonjson', 502],
  ['an answer over 64 KiB', 'huge', 502],
  [`a timeout (answers after ${SLOW_POLICY_MS} ms)`, 'slow', 502],
];

const NARROW = {
  Authorized: true,
  Principals: ['ops@narrow-host', 'deploy'],
  CertificateOptions: {
    ForceCommand: '/usr/bin/uptime',
    SourceAddress: '10.0.0.0/8,192.0.2.1',
    PermitPty: false,
    PermitPortForwarding: false,
    PermitAgentForwarding: true,
    ValidForSeconds: 120,
  },
};

const USER_ANSWERS: Record<string, unknown> = {
  ...Object.fromEntries(BROKEN.map(([, answer], i) => [`case${i}`, answer])),
  narrow: NARROW,
  longer: options({ ValidForSeconds: 10_000_000 }),
  camel: { authorized: true },
  reason: { Authorized: false, Reason: 'only ec2-user' },
  // A reason that tries to forge an audit line, paint the terminal and flood the message.
  hostile: { Authorized: false, Reason: HOSTILE_REASON },
  // A denial says only why: the rest of a deny answer never reaches the caller.
  chatty: { Authorized: false, Reason: 'no', Principals: ['secret-principal'], TargetAddress: '10.9.8.7' },
};
const HOST_ANSWERS: Record<string, unknown> = {
  'allow.example': {
    Authorized: true,
    Principals: ['extra.example'],
    KeyId: 'arn:aws:iam::111122223333:user/admin',
  },
  'deny.example': { Authorized: false },
  'reason.example': { Authorized: false, Reason: 'not in the fleet' },
  'string.example': { Authorized: 'true' },
  'empty.example': {},
  'star.example': { Authorized: true, Principals: ['*'] },
};

const POLICY_SOURCE = `
const user = ${JSON.stringify(USER_ANSWERS)};
const host = ${JSON.stringify(HOST_ANSWERS)};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export function handler(event) {
  if (event.Kind === 'LkpHostCertAuthorizationRequest') return host[event.Principals[0]];
  switch (event.SshUsername) {
    case 'throws': throw new Error('policy bug');
    case 'rejects': return Promise.reject(new Error('denied by rejection'));
    case 'nothing': return undefined;
    case 'nonjson': return new TextEncoder().encode('this is not json');
    case 'huge': return { Authorized: true, Pad: 'x'.repeat(100000) };
    case 'slow': return sleep(${SLOW_POLICY_MS}).then(() => ({ Authorized: true }));
    default: return user[event.SshUsername];
  }
}
`;

let dir: string;
let stack: LocalStack;
let info: InfoResponse;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-policy-attack-'));
  const policyModule = writePolicyModule(dir, 'policy', POLICY_SOURCE);
  stack = await startLocalStack({
    policyModule,
    caEnv: { LKP_POLICY_TIMEOUT_MS: String(POLICY_TIMEOUT_MS) },
  });
  info = await fetchCaInfo(stack.caUrl);
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

function proof(publicKey: string, who: LocalPrincipal = stack.user) {
  return buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: fingerprint(publicKey),
    credentials: who.credentials,
  });
}

function askUser(sshUsername: string) {
  const publicKey = ed25519PublicKey();
  return postCa(stack.caUrl, {
    Kind: 'User',
    Identity: proof(publicKey),
    PublicKey: publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: sshUsername,
  });
}

function askHost(firstName: string, who: LocalPrincipal = stack.host) {
  const publicKey = ed25519PublicKey();
  return postCa(stack.caUrl, {
    Kind: 'Host',
    Identity: proof(publicKey, who),
    PublicKey: publicKey,
    HostInstanceArn: LOCAL_INSTANCE_ARN,
    Principals: [firstName, '127.0.0.1'],
  });
}

/** ssh-keygen -L's reading of a certificate line. */
async function readCertificate(line: unknown): Promise<string> {
  const path = join(dir, `cert-${Math.random().toString(36).slice(2)}-cert.pub`);
  writeFileSync(path, `${String(line)}\n`);
  return describeCertificate(path);
}

/** The indented entries under one heading of ssh-keygen -L (e.g. "Principals"). */
function section(described: string, heading: string): string[] {
  const lines = described.split('\n');
  const start = lines.findIndex((l) => l.trim().startsWith(`${heading}:`));
  if (start < 0) throw new Error(`no ${heading} in ${described}`);
  if (lines[start]?.trim().endsWith('(none)')) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!/^ {16}/.test(l)) break;
    out.push(l.trim());
  }
  return out;
}

describe('broken or hostile user-policy answers sign nothing', () => {
  it.concurrent.each(BROKEN.map(([what, , status], i) => [what, `case${i}`, status] as const))(
    'refuses %s',
    async (_, username, status) => {
      expectRefused(await askUser(username), [status]);
    },
  );

  it.concurrent.each(SPECIAL)('refuses %s', async (_, username, status) => {
    const answer = await askUser(username);
    expectRefused(answer, [status]);
    // bounded: the timeout case must not wait for the policy's late answer
    expect(answer.ms).toBeLessThan(SLOW_POLICY_MS - 1000);
  });
});

describe('good answers are applied exactly', () => {
  it('signs exactly the narrow grant: principals, force-command, source-address, extensions, validity', async () => {
    const answer = await askUser('narrow');
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const described = await readCertificate(answer.json.Certificate);
    expect(described).toMatch(/Type: ssh-ed25519-cert-v01@openssh.com user certificate/);
    expect(section(described, 'Principals')).toEqual(['ops@narrow-host', 'deploy']);
    expect(section(described, 'Critical Options')).toEqual([
      'force-command /usr/bin/uptime',
      'source-address 10.0.0.0/8,192.0.2.1',
    ]);
    expect(section(described, 'Extensions')).toEqual(['permit-agent-forwarding']);
    expect(Number(answer.json.ValidBefore) - Number(answer.json.ValidAfter)).toBe(120 + 60);
  });

  it('never lengthens the validity beyond the CA TTL', async () => {
    const answer = await askUser('longer');
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(Number(answer.json.ValidBefore) - Number(answer.json.ValidAfter)).toBe(3600 + 60);
  });

  it('accepts the camelCase courtesy with the default principal and extensions', async () => {
    const answer = await askUser('camel');
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const described = await readCertificate(answer.json.Certificate);
    expect(section(described, 'Principals')).toEqual([`camel@${LOCAL_INSTANCE_ARN}`]);
    expect(section(described, 'Critical Options')).toEqual([]);
    expect(section(described, 'Extensions')).toEqual(['permit-port-forwarding', 'permit-pty']);
  });
});

describe("a denial's Reason (docs/access-policy.md): shown to the caller, cleaned", () => {
  it("follows the CA's own words in the Forbidden message and the audit line", async () => {
    const answer = await askUser('reason');
    expect(answer.status).toBe(403);
    const message = `policy denied access to ${LOCAL_INSTANCE_ARN} for reason: only ec2-user`;
    expect(answer.json.Error).toEqual({ Code: 'Forbidden', Message: message });
    expect(auditLines().some((l) => l.decision === 'deny' && l.reason === message)).toBe(true);
  });

  it('reaches the caller as one line of at most 200 printable ASCII characters', async () => {
    const answer = await askUser('hostile');
    expect(answer.status).toBe(403);
    const error = answer.json.Error as { Code: string; Message: string };
    const reason = error.Message.slice(`policy denied access to ${LOCAL_INSTANCE_ARN} for hostile: `.length);
    expect(reason).toBe(`nope {"decision":"allow"}?[2J? ?n?code ${'x'.repeat(158)}...`);
    expect(reason).toHaveLength(200);
    expect(error.Message).toMatch(/^[\x20-\x7e]+$/);
    // The audit stays one JSON line per decision: the forged "allow" is inside a deny's reason.
    const lines = stack
      .caOutput()
      .split('\n')
      .filter((l) => l.includes('decision'));
    expect(lines.filter((l) => l.startsWith('{"decision":"allow"}'))).toEqual([]);
    expect(auditLines().some((l) => l.reason === error.Message)).toBe(true);
  });

  it('carries nothing else of the answer', async () => {
    const answer = await askUser('chatty');
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.json)).not.toMatch(/secret-principal|10\.9\.8\.7/);
    expect(answer.json.Error).toEqual({
      Code: 'Forbidden',
      Message: `policy denied access to ${LOCAL_INSTANCE_ARN} for chatty: no`,
    });
  });

  it('comes with a host denial too', async () => {
    const answer = await askHost('reason.example');
    expect(answer.status).toBe(403);
    expect(answer.json.Error).toEqual({
      Code: 'Forbidden',
      Message: `policy denied a host certificate for ${LOCAL_INSTANCE_ARN}: not in the fleet`,
    });
  });
});

/** The CA's audit records so far (its JSON lines on stdout). */
function auditLines(): Record<string, unknown>[] {
  return stack
    .caOutput()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('host-policy answers (DESIGN §3.4: host certificates obey Authorized like user ones)', () => {
  it.concurrent.each([
    ['a denial', 'deny.example', 403],
    ['Authorized: "true"', 'string.example', 502],
    ['an empty answer', 'empty.example', 502],
    ['a wildcard principal', 'star.example', 502],
  ] as const)('refuses %s', async (_, name, status) => {
    expectRefused(await askHost(name), [status]);
  });

  it('ignores a policy KeyId: a host certificate is always named after its instance', async () => {
    const answer = await askHost('allow.example');
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.KeyId).toBe(LOCAL_INSTANCE_ARN);
    expect(answer.json.Principals).toEqual([LOCAL_INSTANCE_ARN, 'extra.example', '127.0.0.1']);
    const described = await readCertificate(answer.json.Certificate);
    expect(described).toMatch(/host certificate/);
    expect(described).toContain(`Key ID: "${LOCAL_INSTANCE_ARN}"`);
  });

  it('refuses a host certificate to a user even when the policy says yes', async () => {
    expectRefused(await askHost('allow.example', stack.user), [403]);
  });
});

describe('what the policy and the logs see (DESIGN §5)', () => {
  it('never hands the proof to the policy', () => {
    const events = JSON.stringify(stack.lambda?.invocations(LOCAL_POLICY_FUNCTION) ?? []);
    expect(events.length).toBeGreaterThan(100);
    expectNoSecretsIn(events);
  });

  it('wrote no Authorization value, signature, session token or secret key', () => {
    expectNoSecretsIn(stack.caOutput(), principalSecrets(stack.sts.principals));
  });
});
