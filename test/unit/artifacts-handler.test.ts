import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadArtifacts, serveArtifact } from '../../src/artifacts-handler.js';

const dir = mkdtempSync(join(tmpdir(), 'lkp-artifacts-'));
const agent = Buffer.from('#!/bin/bash\necho agent\n');
const tarball = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff]);
writeFileSync(join(dir, 'lkp-host-agent'), agent);
writeFileSync(join(dir, 'lkp-0.1.0.tgz'), tarball);
writeFileSync(join(dir, '.hidden'), 'not served');
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'sub', 'inner'), 'not served');
symlinkSync('/etc/passwd', join(dir, 'passwd'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const artifacts = loadArtifacts(dir);
const get = (path: string, method = 'GET') =>
  serveArtifact(artifacts, { rawPath: path, requestContext: { http: { method, path } } });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the downloads function', () => {
  it('serves each packaged file, byte for byte, with its sha256', () => {
    const answer = get('/lkp-0.1.0.tgz');
    expect(answer).toMatchObject({ statusCode: 200, isBase64Encoded: true });
    expect(Buffer.from(answer.body, 'base64')).toEqual(tarball);
    expect(answer.headers).toMatchObject({
      'content-type': 'application/gzip',
      'x-lkp-sha256': sha(tarball),
    });
    const script = get('/lkp-host-agent');
    expect(Buffer.from(script.body, 'base64')).toEqual(agent);
    expect(script.headers['x-lkp-sha256']).toBe(sha(agent));
  });

  it('serves only plain files of its folder: no dot files, folders, symbolic links or paths', () => {
    expect([...artifacts.keys()].sort()).toEqual(['lkp-0.1.0.tgz', 'lkp-host-agent']);
    for (const path of ['/.hidden', '/sub/inner', '/passwd', '/../package.json', '/', '/sub'])
      expect(get(path).statusCode).toBe(404);
    expect(get('/nothing').body).toBe(
      'no such download; this deployment serves: lkp-0.1.0.tgz, lkp-host-agent\n',
    );
  });

  it('answers HEAD without a body and refuses other methods', () => {
    expect(get('/lkp-host-agent', 'HEAD')).toMatchObject({ statusCode: 200, body: '' });
    expect(get('/lkp-host-agent', 'POST')).toMatchObject({
      statusCode: 405,
      headers: { allow: 'GET, HEAD' },
    });
  });
});
