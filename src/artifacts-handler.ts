/**
 * The download function (docs/deploy.md, "Install"): serves the client tarball and the host agent
 * this deployment was packaged with, so the client's install line and the hosts' user data fetch
 * an artifact the deployer controls and check it against the sha256 the stack outputs carry.
 *
 * Public on purpose (a Function URL with AuthType NONE): hosts fetch the agent before they have
 * anything that could sign a request, and the files are this project's public code. What makes a
 * download trustworthy is the digest in the line that fetches it, not the URL.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A file as served: its bytes (base64, as Lambda returns binary bodies), type and digest. */
export interface Artifact {
  name: string;
  base64: string;
  sha256: string;
  contentType: string;
}

interface DownloadEvent {
  rawPath?: string;
  requestContext?: { http?: { method?: string; path?: string } };
}

export interface DownloadResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Every regular file of the folder whose name is a plain file name, read once. */
export function loadArtifacts(dir: string): Map<string, Artifact> {
  const artifacts = new Map<string, Artifact>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !SAFE_NAME.test(entry.name)) continue;
    const bytes = readFileSync(join(dir, entry.name));
    artifacts.set(entry.name, {
      name: entry.name,
      base64: bytes.toString('base64'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      contentType: entry.name.endsWith('.tgz') ? 'application/gzip' : 'text/x-shellscript',
    });
  }
  return artifacts;
}

/** GET or HEAD /<name> → the file; anything else says what there is. */
export function serveArtifact(
  artifacts: ReadonlyMap<string, Artifact>,
  event: DownloadEvent,
): DownloadResult {
  const method = event.requestContext?.http?.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD')
    return text(405, `downloads are GET only\n`, { allow: 'GET, HEAD' });
  const name = (event.requestContext?.http?.path ?? event.rawPath ?? '/').replace(/^\//, '');
  const artifact = artifacts.get(name);
  if (artifact === undefined) {
    const names = [...artifacts.keys()].sort().join(', ') || 'nothing';
    return text(404, `no such download; this deployment serves: ${names}\n`);
  }
  return {
    statusCode: 200,
    headers: {
      'content-type': artifact.contentType,
      // Integrity comes from the digest in the install line; this header only helps a person
      // compare by hand. no-cache: a redeploy replaces the file under the same name.
      'x-lkp-sha256': artifact.sha256,
      etag: `"${artifact.sha256}"`,
      'cache-control': 'no-cache',
    },
    body: method === 'HEAD' ? '' : artifact.base64,
    isBase64Encoded: true,
  };
}

function text(statusCode: number, body: string, headers: Record<string, string> = {}): DownloadResult {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
    body,
    isBase64Encoded: false,
  };
}

// Where serverless.yml packs the files (package.patterns), relative to the function's code root;
// read at the first request, so importing this module reads nothing.
let packaged: Map<string, Artifact> | undefined;

export function handler(event: DownloadEvent): DownloadResult {
  packaged ??= loadArtifacts(
    resolve(process.env.LAMBDA_TASK_ROOT ?? '.', process.env.LKP_ARTIFACTS_DIR ?? 'dist/artifacts'),
  );
  return serveArtifact(packaged, event);
}
