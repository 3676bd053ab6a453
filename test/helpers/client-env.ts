import type { LocalStack } from '../../src/local/stack.js';

/** The environment of `lkp` run as the stack's user (alice) against its CA, with HOME in the stack's folder. */
export function clientEnv(stack: LocalStack): Record<string, string> {
  const c = stack.user.credentials;
  return {
    LKP_CA_URL: stack.caUrl,
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    HOME: stack.dir,
  };
}
