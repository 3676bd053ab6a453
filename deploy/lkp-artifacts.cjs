// @ts-check
'use strict';
/**
 * Serverless plugin: packs what the deployment serves for download (src/artifacts-handler.ts) — the
 * client tarball `npm pack` makes and the host agent — into dist/artifacts, and gives serverless.yml
 * their names and sha256 as ${lkpArtifact:<name>} variables, so the stack outputs and the example
 * launch template carry install lines pinned to exactly these bytes (docs/deploy.md, "Install").
 *
 * It builds first when dist/ is missing or older than the sources: a deploy never serves a stale agent.
 */
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} = require('node:fs');
const { join } = require('node:path');

const SOURCES = ['src', 'client', 'authorizers', 'host', 'package.json'];
const BUILT = ['dist/lkp.cjs', 'dist/lkp-host-agent', 'dist/src/cli.js'];
const OUT = 'dist/artifacts';
const AGENT = 'lkp-host-agent';

/** @param {string} path @returns {number} the newest modification time under path */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let time = stat.mtimeMs;
  for (const entry of readdirSync(path)) time = Math.max(time, newest(join(path, entry)));
  return time;
}

/** @param {string} dir */
function stale(dir) {
  if (!BUILT.every((file) => existsSync(join(dir, file)))) return true;
  const built = Math.min(...BUILT.map((file) => statSync(join(dir, file)).mtimeMs));
  return SOURCES.some((source) => existsSync(join(dir, source)) && newest(join(dir, source)) > built);
}

/** @param {string} file */
function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * @param {string} dir the service folder
 * @param {(message: string) => void} notice
 * @returns {Record<string, string>}
 */
function pack(dir, notice) {
  if (stale(dir)) {
    notice('lkp: building the client and the host agent the deployment serves (npm run build)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const out = join(dir, OUT);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // package.json "files" leaves dist/artifacts out, so the tarball never holds an older tarball.
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const clientFile = packed[0].filename;
  copyFileSync(join(dir, 'dist', AGENT), join(out, AGENT));
  return {
    clientFile,
    clientSha256: sha256(join(out, clientFile)),
    agentFile: AGENT,
    agentSha256: sha256(join(out, AGENT)),
  };
}

class LkpArtifacts {
  /** @param {{ serviceDir?: string, config?: { servicePath?: string } }} serverless */
  constructor(serverless, _options = {}, utils = undefined) {
    const dir = serverless.serviceDir ?? serverless.config?.servicePath ?? process.cwd();
    /** @type {(message: string) => void} */
    const notice = (message) => (utils ? utils.log.notice(message) : process.stderr.write(`${message}\n`));
    /** @type {Record<string, string> | undefined} */
    let values;
    this.configurationVariablesSources = {
      lkpArtifact: {
        /** @param {{ address?: string }} variable */
        resolve: ({ address }) => {
          values ??= pack(dir, notice);
          if (address === undefined || !(address in values))
            throw new Error(`\${lkpArtifact:${address ?? ''}}: known are ${Object.keys(values).join(', ')}`);
          return { value: values[address] };
        },
      },
    };
  }
}

module.exports = LkpArtifacts;
