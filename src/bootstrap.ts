/**
 * Composition root: configuration → signer → policy → the pipeline. Shared by `lkp-ca serve`
 * and (later) the Lambda handler, so both run the same CA from the same environment.
 */
import { stdoutAudit, type AuditSink } from './audit.js';
import { builtinPolicy } from './authorize/builtin.js';
import { createCa, type Ca } from './ca.js';
import { loadConfig, type CaConfig, type ConfigContext } from './config.js';
import { verifyIdentity } from './identity/index.js';
import { loadSigner } from './signer/index.js';
import type { Signer } from './signer/signer.js';

export interface Bootstrapped {
  ca: Ca;
  config: Readonly<CaConfig>;
  signer: Signer;
}

export async function bootstrapCa(
  env: NodeJS.ProcessEnv = process.env,
  ctx: ConfigContext = {},
  audit: AuditSink = stdoutAudit,
): Promise<Bootstrapped> {
  const config = loadConfig(env, ctx);
  const signer = await loadSigner(config.caKey);
  if (config.authorizationLambda !== undefined)
    throw new Error(
      'AUTHORIZATION_LAMBDA is set, but this build has no policy Lambda client yet; unset it to use the built-in policy',
    );
  process.stderr.write(
    `lkp-ca: no AUTHORIZATION_LAMBDA: the built-in policy lets callers from accounts ${config.allowedAccounts.join(', ')} ` +
      'log in to their instances as any user named in the request, with principal <user>@<instance ARN>\n',
  );
  const identity = {
    stsEndpoint: config.stsEndpoint,
    region: config.region,
    serverId: config.serverId,
    clockSkewSeconds: config.clockSkewSeconds,
    allowedAccounts: config.allowedAccounts,
  };
  const ca = createCa({
    config,
    signer,
    policy: builtinPolicy(config.allowedAccounts),
    verifyIdentity: (proof, fingerprint, now) => verifyIdentity(proof, fingerprint, identity, now),
    audit,
  });
  return { ca, config, signer };
}
