/**
 * Jumpbox routing: instances in private subnets are reached through a bastion. For such a target
 * the answer names the bastion (the CA signs a port-forwarding-only certificate for it) and sets
 * TargetAddress to the instance's private IP, which `lkp ssh` connects to through the bastion.
 *
 *   LKP_JUMPBOXES='[{"Address":"bastion.example.com","User":"ec2-user","HostKeyAlias":"bastion.example.com"}]'
 *   LKP_PRIVATE_ARN_PREFIXES=arn:aws:ec2:us-east-1:111122223333:   targets behind the bastion, and/or
 *   LKP_PRIVATE_TAG=lkp:private                                    instances tagged <tag>=true
 *
 * Every caller the CA accepts may log in; combine with another example to restrict who.
 */
import { instanceArnStartsWith } from '../sdk/checks.js';
import { allowInstanceOwnSession, definePolicy, deny, type PolicyHandler } from '../sdk/define-policy.js';
import type { LkpJumpbox } from '../sdk/types.js';
import { ConfigError, fromEnv, jsonFromEnv, type Env } from './lib/env.js';
import { ec2InstanceLookup, type InstanceLookup } from './lib/instances.js';

export interface JumpboxConfig {
  jumpboxes: LkpJumpbox[];
  privatePrefixes: string[];
  /** Instances with this tag set to "true" are private. */
  privateTag?: string;
  lookup: InstanceLookup;
}

export function jumpboxPolicy(config: JumpboxConfig): PolicyHandler {
  return definePolicy({
    user: async (req) => {
      const byPrefix = config.privatePrefixes.some((prefix) => instanceArnStartsWith(req, prefix));
      if (!byPrefix && config.privateTag === undefined) return { Authorized: true };
      const instance = await config.lookup(req.RemoteInstanceArn);
      if (!instance) return deny(`instance ${req.RemoteInstanceArn} not found`);
      const isPrivate = byPrefix || isTaggedPrivate(instance.tags, config.privateTag);
      if (!isPrivate) return { Authorized: true };
      if (!instance.privateIp) return deny(`private instance ${req.RemoteInstanceArn} has no private IP`);
      return { Authorized: true, Jumpboxes: config.jumpboxes, TargetAddress: instance.privateIp };
    },
    host: allowInstanceOwnSession,
  });
}

function isTaggedPrivate(tags: Readonly<Record<string, string>>, tag: string | undefined): boolean {
  return tag !== undefined && tags[tag]?.toLowerCase() === 'true';
}

export function jumpboxConfig(env: Env, lookup: InstanceLookup = ec2InstanceLookup()): JumpboxConfig {
  const privatePrefixes = (env.LKP_PRIVATE_ARN_PREFIXES ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const privateTag = env.LKP_PRIVATE_TAG?.trim() || undefined;
  if (privatePrefixes.length === 0 && privateTag === undefined)
    throw new ConfigError(
      'set LKP_PRIVATE_ARN_PREFIXES or LKP_PRIVATE_TAG (or both): which targets are private',
    );
  const config: JumpboxConfig = { jumpboxes: jumpboxesFromEnv(env), privatePrefixes, lookup };
  if (privateTag !== undefined) config.privateTag = privateTag;
  return config;
}

/** Shape only; the CA's validator (run by definePolicy on every answer) checks names and users. */
function jumpboxesFromEnv(env: Env): LkpJumpbox[] {
  const key = 'LKP_JUMPBOXES';
  const raw = jsonFromEnv(env, key, '[{"Address":"bastion.example.com","User":"ec2-user"}]');
  const list = Array.isArray(raw) ? raw : [raw];
  const valid =
    list.length > 0 &&
    list.every((j: unknown) => {
      const { Address, User } = (typeof j === 'object' && j !== null ? j : {}) as Record<string, unknown>;
      return typeof Address === 'string' && typeof User === 'string';
    });
  if (!valid) throw new ConfigError(`${key} must be a jumpbox or a list of them, each with Address and User`);
  return list as LkpJumpbox[];
}

export const handler = fromEnv((env) => jumpboxPolicy(jumpboxConfig(env)));
