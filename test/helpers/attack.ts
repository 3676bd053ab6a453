/**
 * Shared tools of the adversarial suite (test/security): proofs signed with attacker-chosen
 * values (so only the CA's own guards stand between them and STS), raw CA calls that remember
 * every secret they sent, and the checks that nothing was signed and nothing secret was logged.
 */
import aws4 from 'aws4';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parsePublicKey } from '../../src/cert/index.js';
import { mpintFromUnsigned, sshString } from '../../src/cert/wire.js';
import type { SigningCredentials } from '../../src/local/sigv4-verify.js';
import type { LocalPrincipal } from '../../src/local/sts-standin.js';
import {
  HEADER_KEY_FINGERPRINT,
  HEADER_SERVER_ID,
  STS_ACTION_BODY,
  type IdentityProof,
} from '../../src/protocol.js';

// ---- keys ------------------------------------------------------------------------------------

/** A fresh ed25519 public key line, made in-process (no ssh-keygen) for cases that only need a key. */
export function ed25519PublicKey(comment = 'attack'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return keyLine(Buffer.concat([sshString('ssh-ed25519'), sshString(x)]), 'ssh-ed25519', comment);
}

/**
 * An ssh-rsa line for a fresh RSA key of `bits` (e.g. 1024, below the CA's minimum); `change`
 * replaces the exponent or rewrites the modulus (big-endian magnitudes) to make it unsound.
 */
export function rsaPublicKey(bits: number, change: { e?: Buffer; n?: (n: Buffer) => Buffer } = {}): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const n = Buffer.from(jwk.n ?? '', 'base64url');
  const blob = Buffer.concat([
    sshString('ssh-rsa'),
    mpintFromUnsigned(change.e ?? Buffer.from(jwk.e ?? '', 'base64url')),
    mpintFromUnsigned(change.n ? change.n(n) : n),
  ]);
  return keyLine(blob, 'ssh-rsa');
}

/** An ecdsa-sha2-nistp256 line; `offCurve` nudges y so the point is no longer on the curve. */
export function ecdsaP256PublicKey(offCurve = false): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  if (offCurve) y[y.length - 1] = (y[y.length - 1] ?? 0) ^ 1;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), y]);
  const blob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
  return keyLine(blob, 'ecdsa-sha2-nistp256');
}

export function keyLine(blob: Buffer, typeName: string, comment = 'attack'): string {
  return `${typeName} ${blob.toString('base64')} ${comment}`;
}

/** The wire blob of a key line (no checks: attacks start from valid keys and break them). */
export function blobOf(line: string): Buffer {
  return Buffer.from(line.split(' ')[1] ?? '', 'base64');
}

export const fingerprint = (publicKey: string) => parsePublicKey(publicKey).fingerprint;

// ---- proofs ----------------------------------------------------------------------------------

export interface ProofTarget {
  /** The CA's STS origin as Info gives it, e.g. http://127.0.0.1:4567. */
  stsEndpoint: string;
  region: string;
  serverId: string;
}

export interface SignOptions extends ProofTarget {
  credentials: SigningCredentials;
  publicKey: string;
  /** Signed Host header; default the endpoint's host. */
  host?: string;
  /** Signed path; default '/'. */
  path?: string;
  /** The Url field; default `<endpoint origin><path>`. */
  url?: string;
  body?: string;
  service?: string;
  /** X-Amz-Date value (also the scope date); default now. */
  amzDate?: string;
  /** Replaces the server id header value. */
  serverIdValue?: string;
  /** Replaces the key fingerprint header value. */
  fingerprintValue?: string;
  /** More headers, signed like the rest. */
  extraHeaders?: Record<string, string>;
  /** Headers to leave out of the signature (added after signing, as an attacker would). */
  unsigned?: Record<string, string>;
  /** Drop these headers (by exact name) before signing. */
  omit?: string[];
}

/**
 * A proof signed with aws4 over exactly the values an attacker chose. The signature is genuine
 * for what is sent, so a local STS would accept anything the CA forwards: a refusal is the CA's.
 */
export function signProof(o: SignOptions): IdentityProof {
  const endpoint = new URL(o.stsEndpoint);
  const path = o.path ?? '/';
  const headers: Record<string, string> = {
    Host: o.host ?? endpoint.host,
    'X-Amz-Date': o.amzDate ?? amzDate(new Date()),
    'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
    [HEADER_SERVER_ID]: o.serverIdValue ?? o.serverId,
    [HEADER_KEY_FINGERPRINT]: o.fingerprintValue ?? fingerprint(o.publicKey),
    ...o.extraHeaders,
  };
  for (const name of o.omit ?? []) delete headers[name];
  const signed = aws4.sign(
    {
      host: headers.Host ?? endpoint.host,
      path,
      method: 'POST',
      service: o.service ?? 'sts',
      region: o.region,
      body: o.body ?? STS_ACTION_BODY,
      headers,
    },
    o.credentials,
  );
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    if (value !== undefined && !(o.omit ?? []).includes(name)) out[name] = String(value);
  }
  return {
    Method: 'POST',
    Url: o.url ?? `${endpoint.origin}${path}`,
    Body: o.body ?? STS_ACTION_BODY,
    Headers: { ...out, ...o.unsigned },
  };
}

export const amzDate = (d: Date) => d.toISOString().replace(/[-:]|\.\d{3}/g, '');

/** A copy of the proof with its headers changed by `change` (for after-signing tampering). */
export function tamper(
  p: IdentityProof,
  change: (h: Record<string, unknown>) => void,
): IdentityProof & { Headers: Record<string, unknown> } {
  const headers: Record<string, unknown> = { ...p.Headers };
  change(headers);
  return { ...p, Headers: headers } as IdentityProof & { Headers: Record<string, unknown> };
}

/** Rewrites one `Field=value` of the Authorization header. */
export function withAuthorization(p: IdentityProof, rewrite: (auth: string) => string): IdentityProof {
  return tamper(p, (h) => (h.Authorization = rewrite(String(h.Authorization)))) as IdentityProof;
}

// ---- calling the CA --------------------------------------------------------------------------

export interface CaAnswer {
  status: number;
  json: Record<string, unknown>;
  /** Milliseconds from sending to the full answer. */
  ms: number;
}

/** Every secret any test sent to a CA in this worker: what the log audit looks for. */
const sentSecrets = new Set<string>();

/** Remembers secrets the suite holds but never sends (secret keys, private keys), for the log audit. */
export function rememberSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length >= 16) sentSecrets.add(secret);
}

/** POSTs a body (an object is JSON-encoded) to the CA and records the proof secrets inside it. */
export async function postCa(url: string, body: unknown, timeoutMs = 15_000): Promise<CaAnswer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  recordProofSecrets(text);
  const started = Date.now();
  const res = await fetch(url, { method: 'POST', body: text, signal: AbortSignal.timeout(timeoutMs) });
  const raw = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    json = { NotJson: raw.slice(0, 200) };
  }
  return { status: res.status, json, ms: Date.now() - started };
}

function recordProofSecrets(text: string): void {
  for (const m of text.matchAll(/Signature=([0-9a-f]{64})/g)) rememberSecret(m[1]);
  for (const m of text.matchAll(/"(AWS4-HMAC-SHA256 [^"]{20,})"/g)) rememberSecret(m[1]);
  for (const m of text.matchAll(/"X-Amz-Security-Token"\s*:\s*"([^"]+)"/gi)) rememberSecret(m[1]);
}

/** The answer is a refusal with one of `statuses`, and carries no certificate of any kind. */
export function expectRefused(answer: CaAnswer, statuses: number[]): void {
  expect(answer.json.Certificate, JSON.stringify(answer.json)).toBeUndefined();
  expect(answer.json.Jumpboxes).toBeUndefined();
  expect(answer.json.Error).toBeDefined();
  expect(statuses, JSON.stringify(answer.json)).toContain(answer.status);
}

/**
 * DESIGN §5: no Authorization value, signature, session token, secret key or private key material
 * in what the CA wrote. `extra` adds secrets this file knows of (e.g. principals' secret keys).
 */
export function expectNoSecretsIn(output: string, extra: (string | undefined)[] = []): void {
  for (const secret of extra) rememberSecret(secret);
  expect(sentSecrets.size).toBeGreaterThan(0);
  const leaked = [...sentSecrets].filter((s) => output.includes(s));
  expect(leaked.map((s) => `${s.slice(0, 12)}…`)).toEqual([]);
  expect(output).not.toMatch(/Credential=[A-Z0-9]{8}|Signature=[0-9a-f]{8}|PRIVATE KEY/);
}

/** What STS principals must never leave in any output: their secret keys and session tokens. */
export function principalSecrets(principals: readonly LocalPrincipal[]): (string | undefined)[] {
  return [
    ...principals.map((p) => p.credentials.secretAccessKey),
    ...principals.map((p) => p.credentials.sessionToken),
  ];
}

// ---- policies and raw connections --------------------------------------------------------------

/** Writes an ES module exporting `handler` to `dir` and returns its absolute path. */
export function writePolicyModule(dir: string, name: string, source: string): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, source);
  return path;
}

/**
 * Opens a TCP connection to the CA, writes `head`, then `drip` every `intervalMs` until the server
 * closes the connection or `giveUpMs` passes. Resolves with how long the server held it open.
 */
export function slowClient(
  url: string,
  opts: { head: string; drip: string; intervalMs: number; giveUpMs: number },
): Promise<{ heldMs: number; closedByServer: boolean; firstLine: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    let firstLine = '';
    const socket = net.connect(Number(port), hostname, () => socket.write(opts.head));
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(opts.drip);
    }, opts.intervalMs);
    const finish = (closedByServer: boolean) => {
      clearInterval(drip);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ heldMs: Date.now() - started, closedByServer, firstLine });
    };
    const giveUp = setTimeout(() => finish(false), opts.giveUpMs);
    socket.on('data', (d: Buffer) => (firstLine ||= d.toString().split('\r\n')[0] ?? ''));
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
  });
}
