/**
 * A voucher (DESIGN §3.2 Vouchers): an identity proof signed by the person vouching, bound to this
 * CA, to whom they vouch for and to a context instead of to a key, packed as one copyable token.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { MAX_VOUCHEE_LENGTH, MAX_VOUCHER_CONTEXT_LENGTH, isVoucherText } from '../../src/identity/voucher.js';
import { VOUCHER_PREFIX } from '../../src/protocol.js';
import { buildIdentityProof } from './proof.js';

/** `lkpv1.` + base64url(JSON of the signed, unsent GetCallerIdentity request). */
export function buildVoucher(opts: {
  /** Origin of the STS endpoint, as the CA's Info answer gives it. */
  stsEndpoint: string;
  region: string;
  serverId: string;
  /** Whom you vouch for: an IAM user name, role session name or ARN. */
  vouchee: string;
  /** What for: an instance ARN or free text such as a ticket id. */
  context: string;
  credentials: AwsCredentialIdentity;
  now?: Date;
}): string {
  // The CA refuses other text; saying so here beats a refusal after the token was passed on.
  checkText('vouchee', opts.vouchee, MAX_VOUCHEE_LENGTH);
  checkText('context', opts.context, MAX_VOUCHER_CONTEXT_LENGTH);
  const proof = buildIdentityProof({
    stsEndpoint: opts.stsEndpoint,
    region: opts.region,
    serverId: opts.serverId,
    vouchee: opts.vouchee,
    voucherContext: opts.context,
    credentials: opts.credentials,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return `${VOUCHER_PREFIX}${Buffer.from(JSON.stringify(proof)).toString('base64url')}`;
}

function checkText(what: string, value: string, max: number): void {
  if (!isVoucherText(value, max))
    throw new Error(
      `invalid ${what}: use 1 to ${max} printable ASCII characters, without leading, trailing or double spaces`,
    );
}
