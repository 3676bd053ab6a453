/**
 * A policy's answer about an instance's unix accounts → the accounts it keeps (docs/access-policy.md).
 * The policy narrows the CA's offer and never widens it: a name it was not offered, or sudo for an
 * account that was not offered sudo, is a PolicyError (fail closed, DESIGN §3.4). `Authorized: false`
 * is a valid answer meaning "no accounts on this host": removing access is the safe direction.
 */
import { invalid, parseReason, readFields, type Field } from '../authorize/response.js';
import type { LkpAccountsAuthorizationRequest } from '../protocol.js';

export interface AccountsGrant {
  /** Names of offered accounts the host keeps, sorted. */
  users: string[];
  /** Of those, the ones with sudo, sorted. */
  sudo: string[];
}

const FIELDS = ['Authorized', 'Users', 'Sudo', 'Reason'] as const;

/** Everything the CA offered, as offered: the built-in policy's answer and the default for absent fields. */
export function offeredGrant(req: LkpAccountsAuthorizationRequest): AccountsGrant {
  return {
    users: req.Accounts.map((a) => a.User).sort(),
    sudo: req.Accounts.filter((a) => a.Sudo)
      .map((a) => a.User)
      .sort(),
  };
}

export function parseAccountsPolicyResponse(
  raw: unknown,
  req: LkpAccountsAuthorizationRequest,
): AccountsGrant {
  const fields = readFields(raw, '', FIELDS);
  const authorized = fields.Authorized;
  if (authorized === undefined)
    throw invalid('Authorized is missing; answer {"Authorized": true} or {"Authorized": false}');
  if (typeof authorized.value !== 'boolean') throw invalid(`${authorized.name} must be true or false`);
  // A Reason is checked like any field (a deny() rule answers with one), but a host has no one to read it.
  parseReason(fields.Reason);
  if (!authorized.value) return { users: [], sudo: [] };
  const offered = offeredGrant(req);
  const users = fields.Users ? subset(fields.Users, offered.users, 'offered') : offered.users;
  const sudoOffered = offered.sudo.filter((u) => users.includes(u));
  const sudo = fields.Sudo ? subset(fields.Sudo, sudoOffered, 'offered sudo and kept') : sudoOffered;
  return { users, sudo };
}

/** The field's names, each one of `allowed`; sorted and unique. */
function subset(field: Field, allowed: readonly string[], what: string): string[] {
  if (!Array.isArray(field.value)) throw invalid(`${field.name} must be an array of account names`);
  const names = Array.from(field.value, (value: unknown, i) => {
    if (typeof value !== 'string' || !allowed.includes(value))
      throw invalid(
        `${field.name}[${i}] is not an account the CA ${what}; a policy may only narrow the CA's offer`,
      );
    return value;
  });
  return [...new Set(names)].sort();
}
