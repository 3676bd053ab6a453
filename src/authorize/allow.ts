/**
 * LKP_ALLOW: what the built-in policy grants (DESIGN §3.4) — which identities (ARN patterns) may
 * log in as which logins. Nothing named, nothing granted.
 *
 *   LKP_ALLOW='arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_*\/*=ec2-user,ubuntu
 *              arn:aws:iam::111122223333:user/alice=*'
 *
 * Rules are separated by whitespace (the one character no IAM ARN contains; IAM paths may hold
 * almost any other). A rule is `<ARN pattern>=<login>[,<login>…]`, split at its LAST `=`: role and
 * session names may contain `=`, POSIX logins may not. In a pattern `*` matches any run of
 * characters, `/` and `:` included. The login `*` means any login except root; root is granted
 * only where a rule lists `root` itself. An instance-role session (session name `i-…`, what EC2
 * gives an instance) matches only a pattern whose session part starts with `i-` itself, so
 * `assumed-role/*\/*` never lets every instance in the account log in to every other one.
 */
import type { LkpIdentity } from '../protocol.js';

export interface AllowRule {
  /** As written, for messages. */
  pattern: string;
  /** Logins as written; `*` = any login except root. */
  logins: readonly string[];
}

const LOGIN = /^(\*|[a-z_][a-z0-9_-]{0,30}\$?)$/i;
const PATTERN = /^arn:[!-~]{1,2047}$/;
const INSTANCE_SESSION = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Whitespace-separated rules; every problem is named (config.ts collects them). */
export function parseAllowRules(raw: string, problems: string[]): AllowRule[] {
  const rules: AllowRule[] = [];
  for (const text of raw.split(/\s+/).filter(Boolean)) {
    const eq = text.lastIndexOf('=');
    const pattern = eq > 0 ? text.slice(0, eq) : '';
    const logins = eq > 0 ? text.slice(eq + 1).split(',') : [];
    if (!PATTERN.test(pattern) || logins.length === 0 || !logins.every((l) => LOGIN.test(l))) {
      problems.push(
        `LKP_ALLOW rule "${text}" must be <ARN pattern>=<login>[,<login>…], e.g. arn:aws:iam::111122223333:user/alice=ec2-user`,
      );
      continue;
    }
    rules.push({ pattern, logins: [...new Set(logins)] });
  }
  return rules;
}

/** The rules that let `who` log in as `login`; empty when none does. */
export function allowingRules(rules: readonly AllowRule[], who: LkpIdentity, login: string): AllowRule[] {
  return rules.filter((r) => patternMatches(r.pattern, who) && loginAllowed(r.logins, login));
}

/** Whether any rule names `who` at all, whatever the login (for a message that says which part failed). */
export function identityNamed(rules: readonly AllowRule[], who: LkpIdentity): boolean {
  return rules.some((r) => patternMatches(r.pattern, who));
}

export function isInstanceRoleSession(who: LkpIdentity): boolean {
  return who.Type === 'AssumedRole' && INSTANCE_SESSION.test(who.SessionName ?? '');
}

function patternMatches(pattern: string, who: LkpIdentity): boolean {
  if (!globMatch(pattern, who.Arn)) return false;
  if (!isInstanceRoleSession(who)) return true;
  // An instance's session must be named on purpose: the pattern's session part starts with `i-`.
  return pattern.slice(pattern.lastIndexOf('/') + 1).startsWith('i-');
}

function loginAllowed(logins: readonly string[], login: string): boolean {
  return logins.includes(login) || (login !== 'root' && logins.includes('*'));
}

/** `*` matches any run of characters; everything else literally. Linear: no backtracking regex. */
export function globMatch(pattern: string, text: string): boolean {
  const parts = pattern.split('*');
  const first = parts[0] ?? '';
  if (parts.length === 1) return pattern === text;
  if (!text.startsWith(first)) return false;
  let at = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = text.indexOf(middle, at);
    if (found < 0) return false;
    at = found + middle.length;
  }
  const last = parts[parts.length - 1] ?? '';
  return text.length - last.length >= at && text.endsWith(last);
}
