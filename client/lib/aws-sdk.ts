/**
 * The AWS SDK packages lkp loads when a command needs them, by CommonJS `require`: `import()` of a
 * CommonJS package makes Node first check its format and scan its whole source for export names,
 * ~250 ms of a first connection for `@aws-sdk/client-ec2` (docs/performance.md, "The client").
 * Modules import only types from the SDK at the top, so a cached `lkp ssh` loads none of it.
 */
import { createRequire } from 'node:module';

const requireCjs = createRequire(import.meta.url);

function load<T>(name: string): T {
  // On Node < 22 the SDK warns (7 lines on stderr) that its releases from 2027 need Node 22: news
  // for whoever ships lkp (package.json engines), not for someone running `lkp ssh`, who would
  // see it before every new certificate. Unless the user set the SDK's own switch either way.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return requireCjs(name) as T;
}

export const lambdaSdk = () => load<typeof import('@aws-sdk/client-lambda')>('@aws-sdk/client-lambda');
export const stsSdk = () => load<typeof import('@aws-sdk/client-sts')>('@aws-sdk/client-sts');
export const credentialProviders = () =>
  load<typeof import('@aws-sdk/credential-providers')>('@aws-sdk/credential-providers');
/** The SDK's own loader of region and settings from the environment and ~/.aws/config (no client). */
export const sdkConfigLoader = () => load<typeof import('@smithy/core/config')>('@smithy/core/config');
