/**
 * The scheduled sweeper (serverless.yml, every minute): revokes the lkp rules of LKP_INGRESS_GROUPS
 * whose lease has expired. It signs nothing and reads only the lease settings of the configuration.
 */
import { loadIngressConfig } from './config.js';
import { ec2LeaseManager, type LeaseManager } from './ingress/index.js';

let leases: LeaseManager | undefined;

export async function handler(): Promise<{ revoked: number }> {
  // DESIGN §5: a bad value stops the function with a clear message (ConfigError lists every problem).
  const config = loadIngressConfig(process.env);
  leases ??= ec2LeaseManager({ allowedGroups: config.groups, defaultPorts: config.defaultPorts });
  const revoked = await leases.sweep(new Date());
  process.stdout.write(`${JSON.stringify({ level: 'INFO', message: 'lkp lease sweep', revoked })}\n`);
  return { revoked };
}
