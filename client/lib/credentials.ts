/**
 * The caller's AWS credentials from the standard chain (DESIGN §4): environment, profiles, SSO,
 * credential_process, web identity, container and instance metadata.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { credentialProviders } from './aws-sdk.js';

export async function resolveCredentials(opts: { profile?: string }): Promise<AwsCredentialIdentity> {
  const fromEnvironment = opts.profile ? undefined : environmentCredentials(process.env);
  if (fromEnvironment) return fromEnvironment;
  // Loaded on use, not when lkp starts: a cached `lkp ssh` needs no credentials (issue "Benchmarks", item 4).
  const { fromNodeProviderChain } = credentialProviders();
  const provider = fromNodeProviderChain(opts.profile ? { profile: opts.profile } : {});
  try {
    return await provider();
  } catch (e) {
    throw new Error(describeFailure(e, opts.profile), { cause: e });
  }
}

/**
 * The chain's first link without loading the chain (~60 ms of every `lkp tunnel` and first login,
 * docs/performance.md): static keys in the environment, read as the SDK's fromEnv reads them, and
 * skipped where the chain skips them — when a profile is named (AWS_PROFILE or --aws-profile).
 */
export function environmentCredentials(env: NodeJS.ProcessEnv): AwsCredentialIdentity | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (env.AWS_PROFILE || !accessKeyId || !secretAccessKey) return undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(env.AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(env.AWS_CREDENTIAL_EXPIRATION) } : {}),
    ...(env.AWS_CREDENTIAL_SCOPE ? { credentialScope: env.AWS_CREDENTIAL_SCOPE } : {}),
    ...(env.AWS_ACCOUNT_ID ? { accountId: env.AWS_ACCOUNT_ID } : {}),
  };
}

/** The chain's last link says only "Could not load credentials from any providers"; name the fix instead. */
function describeFailure(e: unknown, profile: string | undefined): string {
  const reason = e instanceof Error ? e.message : String(e);
  if (/could not load credentials from any providers/i.test(reason)) {
    return profile
      ? `no AWS credentials found for profile '${profile}': run \`aws sso login --profile ${profile}\` or check ~/.aws/config`
      : 'no AWS credentials found: run `aws sso login` or set AWS_PROFILE';
  }
  return `could not load AWS credentials${profile ? ` for profile '${profile}'` : ''}: ${reason}`;
}
