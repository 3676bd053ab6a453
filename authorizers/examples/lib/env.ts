/**
 * Configuration of the example policies from their Lambda environment: read once, on the first
 * invocation, and a bad value throws a message naming the variable. Lambda reports that as a
 * FunctionError, so a misconfigured policy denies everything (fail closed, DESIGN §3.4).
 */
import type { PolicyHandler } from '../../sdk/define-policy.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A handler built from process.env on first use, so that importing the module never throws. */
export function fromEnv(build: (env: Env) => PolicyHandler): PolicyHandler {
  let built: PolicyHandler | undefined;
  return async (event) => {
    built ??= build(process.env);
    return built(event);
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function required(env: Env, key: string, example: string): string {
  const value = env[key]?.trim();
  if (!value) throw new ConfigError(`${key} is required, e.g. ${key}=${example}`);
  return value;
}

/** A comma-separated list; empty entries are refused, because "a,,b" is usually a typo. */
export function listFromEnv(env: Env, key: string, example: string): string[] {
  const items = required(env, key, example)
    .split(',')
    .map((s) => s.trim());
  if (items.some((s) => s === '')) throw new ConfigError(`${key} has an empty entry; e.g. ${key}=${example}`);
  return items;
}

export function accountsFromEnv(env: Env, key: string): string[] {
  const accounts = listFromEnv(env, key, '111122223333,444455556666');
  const bad = accounts.filter((a) => !/^\d{12}$/.test(a));
  if (bad.length > 0)
    throw new ConfigError(`${key} has values that are not 12-digit account ids: ${bad.join(', ')}`);
  return accounts;
}

/** "08-18": from 08:00 to 17:59 UTC; "22-06" wraps midnight. */
export function hoursFromEnv(env: Env, key: string): { from: number; to: number } {
  const value = required(env, key, '08-18');
  const match = /^(\d{1,2})-(\d{1,2})$/.exec(value);
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (!match || from > 23 || to > 24 || from === to)
    throw new ConfigError(
      `${key} must be <from>-<to> in whole UTC hours (from 0–23, to 0–24, not equal), e.g. 08-18`,
    );
  return { from, to };
}

export function jsonFromEnv(env: Env, key: string, example: string): unknown {
  const value = required(env, key, example);
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new ConfigError(`${key} is not valid JSON; e.g. ${key}='${example}'`);
  }
}

export function positiveIntegerFromEnv(env: Env, key: string, fallback: number): number {
  const value = env[key]?.trim();
  if (!value) return fallback;
  if (!/^[1-9]\d{0,3}$/.test(value))
    throw new ConfigError(`${key} must be a positive whole number, e.g. ${fallback}`);
  return Number(value);
}
