/**
 * Builds a policy request from a short, hand-written form, for tests and `lkp policy test`.
 * Identities may be given as ARN strings and are parsed by the CA's own ARN grammar (DESIGN §3.1).
 *
 *   { "From": "arn:aws:iam::111122223333:user/alice",
 *     "RemoteInstanceArn": "arn:aws:ec2:…:instance/i-…", "SshUsername": "ec2-user",
 *     "SourceIp"?: "…", "PublicKeyFingerprint"?: "SHA256:…",
 *     "Vouchers"?: [{ "From": "arn:…", "Vouchee": "alice", "Context": "arn:aws:ec2:…" }] }
 *   { "From": "arn:aws:sts::…:assumed-role/web/i-…", "HostInstanceArn": "arn:aws:ec2:…", "Principals"?: [] }
 *
 * A request with a Kind is taken as the full form, unchanged. `From` may also be a full
 * LkpIdentity object. An ARN string gets a placeholder unique id (`AIDAEXAMPLE…` for users,
 * `AROAEXAMPLE…:<session>` for roles, `<account>:<name>` for federated users, as STS spells it).
 */
import { arnAccount, identityFromArn } from '../../src/identity/arn.js';
import type { LkpAuthorizationRequest, LkpIdentity } from '../../src/protocol.js';
import { HOST_KIND, parseAuthorizationRequest, PolicyRequestError, USER_KIND } from './parse-request.js';

/** A well-formed placeholder; the CA sends the real key's fingerprint. */
export const SAMPLE_FINGERPRINT = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';

type Json = Record<string, unknown>;

export function sampleRequest(raw: unknown): LkpAuthorizationRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new PolicyRequestError('the request must be a JSON object');
  const short = raw as Json;
  if (short.Kind !== undefined) return parseAuthorizationRequest(raw);
  const From = identityOf(short.From, 'From');
  if (short.HostInstanceArn !== undefined)
    return parseAuthorizationRequest({ Principals: [], ...short, Kind: HOST_KIND, From });
  return parseAuthorizationRequest({
    PublicKeyFingerprint: SAMPLE_FINGERPRINT,
    ...short,
    Kind: USER_KIND,
    From,
    ...(short.Vouchers !== undefined ? { Vouchers: vouchersOf(short.Vouchers) } : {}),
  });
}

function vouchersOf(raw: unknown): unknown {
  if (!Array.isArray(raw)) return raw;
  return raw.map((v: unknown, i) => {
    if (typeof v !== 'object' || v === null) return v;
    const { From, ...rest } = v as Json;
    const identity = identityOf(From, `Vouchers[${i}].From`);
    return typeof identity === 'object' && identity !== null ? { ...identity, ...rest } : v;
  });
}

function identityOf(raw: unknown, where: string): LkpIdentity | unknown {
  if (typeof raw !== 'string') return raw;
  const account = arnAccount(raw);
  let identity: LkpIdentity;
  try {
    identity = identityFromArn({ Arn: raw, Account: account ?? '', UserId: 'placeholder' }, [account ?? '']);
  } catch (e) {
    throw new PolicyRequestError(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { ...identity, Id: placeholderId(identity) };
}

function placeholderId(who: LkpIdentity): string {
  if (who.Type === 'AssumedRole')
    return `AROAEXAMPLE${(who.RoleName ?? '').toUpperCase().replace(/[^A-Z0-9]/g, '')}:${who.SessionName}`;
  if (who.Type === 'FederatedUser') return `${who.Account}:${who.Name}`;
  return `AIDAEXAMPLE${(who.Name ?? '').toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
}
