/**
 * Vouchers (DESIGN §3.2 Vouchers, §3.4): another person's signed statement "I vouch for <vouchee>
 * in <context>". A token is `lkpv1.` + base64url(JSON of an IdentityProof) signed by the voucher,
 * binding X-Lkp-Vouchee and X-Lkp-Voucher-Context instead of a key fingerprint. Each one is
 * verified exactly like a caller (same §3.1 guards, same STS forward, same ARN grammar and account
 * allow-list), so a policy only ever sees vouchers STS confirmed.
 */
import { LkpError, badRequest, unauthenticated } from '../errors.js';
import {
  HEADER_VOUCHEE,
  HEADER_VOUCHER_CONTEXT,
  MAX_VOUCHER_BYTES,
  MAX_VOUCHERS,
  VOUCHER_PREFIX,
  type IdentityProof,
  type LkpIdentity,
  type LkpVoucher,
} from '../protocol.js';
import { parseIdentityProof } from '../request.js';
import { identityFromArn } from './arn.js';
import { DEFAULT_STS_TIMEOUT_MS, type IdentityConfig } from './index.js';
import { parseStsProof, type StsProof } from './proof.js';
import { callSts, type StsTransport } from './sts.js';

export interface VoucherConfig extends IdentityConfig {
  /** LKP_VOUCHER_MAX_AGE: how long after signing a voucher is accepted. */
  voucherMaxAgeSeconds: number;
}

export const MAX_VOUCHEE_LENGTH = 128;
export const MAX_VOUCHER_CONTEXT_LENGTH = 256;

/**
 * Printable ASCII without leading, trailing or repeated spaces: SigV4 trims and collapses spaces in
 * header values before signing, so only this form is the one text the voucher's signature covers.
 */
const SIGNED_TEXT = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

/** A vouchee or context the CA accepts (shared with `lkp vouch`, which checks before signing). */
export function isVoucherText(value: string, max: number): boolean {
  return value.length <= max && SIGNED_TEXT.test(value);
}

interface CheckedVoucher {
  request: StsProof;
  vouchee: string;
  context: string;
}

/**
 * Decodes and verifies every token (call it only once the caller is authenticated, so anonymous
 * requests cannot make the CA call STS). One bad voucher fails the whole request, naming its index;
 * vouchers by the caller themselves and repeats by the same identity are dropped (the first stays).
 */
export async function verifyVouchers(
  tokens: readonly string[],
  caller: LkpIdentity,
  cfg: VoucherConfig,
  now: Date,
  transport?: StsTransport,
): Promise<LkpVoucher[]> {
  if (tokens.length > MAX_VOUCHERS) throw badRequest(`Vouchers may have at most ${MAX_VOUCHERS} entries`);
  // Every pure check first: a malformed voucher costs no STS call, for any voucher.
  const checked = tokens.map((token, i) => naming(i, () => checkVoucher(token, cfg, now)));
  const timeoutMs = cfg.stsTimeoutMs ?? DEFAULT_STS_TIMEOUT_MS;
  const settled = await Promise.allSettled(
    checked.map(async (c) => {
      const identity = identityFromArn(await callSts(c.request, timeoutMs, transport), cfg.allowedAccounts);
      return { ...identity, Vouchee: c.vouchee, Context: c.context };
    }),
  );
  const vouchers = settled.map((s, i) =>
    naming(i, () => {
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    }),
  );
  return distinctVouchers(vouchers, caller);
}

/** `lkpv1.` + base64url(JSON): strictly, so one token has exactly one meaning. Anything else is BadRequest. */
export function decodeVoucher(token: string): IdentityProof {
  if (Buffer.byteLength(token) > MAX_VOUCHER_BYTES)
    throw badRequest(`voucher is larger than ${MAX_VOUCHER_BYTES} bytes`);
  if (!token.startsWith(VOUCHER_PREFIX))
    throw badRequest(`not a voucher: a voucher starts with ${VOUCHER_PREFIX} (made by lkp vouch)`);
  const encoded = token.slice(VOUCHER_PREFIX.length);
  const bytes = Buffer.from(encoded, 'base64url');
  // Node's decoder skips bad characters and padding; re-encoding catches every non-canonical form.
  if (encoded === '' || bytes.toString('base64url') !== encoded)
    throw badRequest(`voucher is not base64url after ${VOUCHER_PREFIX}; copy the whole token`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw badRequest('voucher does not hold JSON; copy the whole token');
  }
  return parseIdentityProof(raw, 'voucher');
}

/** The pure part: decode, the §3.1 guards with the voucher's binding headers and age, the signed texts. */
function checkVoucher(token: string, cfg: VoucherConfig, now: Date): CheckedVoucher {
  const request = parseStsProof(decodeVoucher(token), {
    stsEndpoint: cfg.stsEndpoint,
    region: cfg.region,
    serverId: cfg.serverId,
    clockSkewSeconds: cfg.clockSkewSeconds,
    now,
    voucher: { maxAgeSeconds: cfg.voucherMaxAgeSeconds },
  });
  return {
    request,
    vouchee: signedText(request, HEADER_VOUCHEE, MAX_VOUCHEE_LENGTH),
    context: signedText(request, HEADER_VOUCHER_CONTEXT, MAX_VOUCHER_CONTEXT_LENGTH),
  };
}

/** §3.2: the vouchee and context a policy compares must be exactly what the voucher signed. */
function signedText(request: StsProof, header: string, max: number): string {
  const value = request.headers[header] ?? '';
  if (!isVoucherText(value, max)) {
    throw unauthenticated(
      `voucher header ${header} must be 1 to ${max} printable ASCII characters, without leading, trailing or double spaces`,
    );
  }
  return value;
}

/** §3.4: vouching for yourself proves nothing, and one person vouching twice is still one voucher. */
function distinctVouchers(vouchers: readonly LkpVoucher[], caller: LkpIdentity): LkpVoucher[] {
  const seen: LkpIdentity[] = [caller];
  const kept: LkpVoucher[] = [];
  for (const v of vouchers) {
    if (seen.some((s) => s.Arn === v.Arn || s.Id === v.Id)) continue;
    seen.push(v);
    kept.push(v);
  }
  return kept;
}

/** Runs one voucher's step so that a failure names which voucher it was, keeping its code. */
function naming<T>(index: number, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (!(e instanceof LkpError)) throw e;
    throw new LkpError(e.code, `Vouchers[${index}]: ${e.message}`, {
      cause: e.cause,
      detail: { ...e.detail },
    });
  }
}
