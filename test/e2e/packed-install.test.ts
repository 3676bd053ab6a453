/**
 * The client as a person installs it: `npm pack`, then `npm install -g` of that tarball into a
 * temporary prefix, offline. The installed package must work with its runtime dependencies alone:
 * `lkp` and `lkp-ca` on PATH, the policy SDK importable as `lkp/authorizers` (with types), and the
 * everyday path that `npm start -- --keep-running` prints — run line by line, as printed, in a
 * throwaway HOME with the installed `lkp` — reaching the local stack's sshd with `lkp ssh`, plain
 * `ssh` and `scp`. Then SIGTERM to the stack's PID stops everything it started.
 *
 * Offline: `npm ci` caches tarballs but not the registry's package documents, which `npm install`
 * needs to resolve version ranges. So the runtime dependencies are given to the same `npm install -g`
 * as folders of this checkout's node_modules (linked next to lkp in the prefix), exactly the ones
 * package.json lists in "dependencies": a module lkp needs that is only a devDependency is then
 * missing from the installed tree, and the test fails.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoLogins } from '../../src/local/demo.js';
import { runInThrowawayHome, SCP_COPY } from '../../src/local/everyday.js';
import { repoRoot } from '../helpers/run-node.js';
import { isAlive, startStackProcess, type StackProcess } from '../helpers/stack-process.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** npm runs on the Node this test runs on. */
const env = {
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  HOME: process.env.HOME ?? '',
  AWS_EC2_METADATA_DISABLED: 'true',
};

describe('npm pack, then npm install -g of the tarball (offline)', () => {
  let dir: string;
  let prefix: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkp-packed-'));
    prefix = join(dir, 'prefix');
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repoRoot, env });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(dir, info?.filename ?? '');
    files = (info?.files ?? []).map((f) => f.path);
    const dependencyFolders = Object.keys(pkg.dependencies).map((d) => join(repoRoot, 'node_modules', d));
    await run(
      'npm',
      [
        'install',
        '--global',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--prefix',
        prefix,
        tarball,
        ...dependencyFolders,
      ],
      { cwd: dir, env, timeout: 120_000 },
    );
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs the built CLI, CA and SDK with types, and no sources, tests, benchmarks, local stack or source maps', () => {
    expect(tarball).toMatch(new RegExp(`lkp-${pkg.version}\\.tgz$`));
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/lkp.cjs',
        'dist/lkp-host-agent',
        'dist/src/cli.js',
        'dist/authorizers/sdk/index.js',
        'dist/authorizers/sdk/index.d.ts',
      ]),
    );
    expect(
      files.filter((f) => !f.startsWith('dist/') && !/^(package\.json|README\.md|LICENSE)$/.test(f)),
    ).toEqual([]);
    expect(files.filter((f) => /^dist\/(bench|test|src\/local)\/|\.map$|(?<!\.d)\.ts$/.test(f))).toEqual([]);
  });

  it('installs lkp with runtime dependencies only, exposing lkp and lkp-ca', async () => {
    const installed = join(prefix, 'lib', 'node_modules');
    const names = readdirSync(installed).flatMap((n) =>
      n.startsWith('@') ? readdirSync(join(installed, n)).map((m) => `${n}/${m}`) : [n],
    );
    expect(names.sort()).toEqual(['lkp', ...Object.keys(pkg.dependencies)].sort());
    expect(existsSync(join(installed, 'lkp', 'node_modules'))).toBe(false);
    expect(names.filter((n) => n in pkg.devDependencies)).toEqual([]);

    const lkp = await run(join(prefix, 'bin', 'lkp'), ['--version'], { env });
    expect(lkp.stdout.trim()).toBe(pkg.version);
    const ca = await run(join(prefix, 'bin', 'lkp-ca'), ['serve', '--help'], { env });
    expect(ca.stdout).toMatch(/LKP_CA_KEY/);
  });

  it('lets a policy import the SDK as lkp/authorizers, at run time and with types', async () => {
    const project = join(dir, 'policy');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(join(prefix, 'lib', 'node_modules', 'lkp'), join(project, 'node_modules', 'lkp'));
    writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
    const policy = [
      "import { definePolicy, deny, sampleRequest } from 'lkp/authorizers';",
      'export const handler = definePolicy({',
      "  user: (req) => (req.SshUsername === 'ec2-user' ? { Authorized: true } : deny('only ec2-user')),",
      '});',
      "const request = (SshUsername = 'ec2-user') =>",
      "  sampleRequest({ From: 'arn:aws:iam::111122223333:user/alice', RemoteInstanceArn: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0', SshUsername });",
      "const allowed = await handler(request('ec2-user'));",
      "const denied = await handler(request('root'));",
      'console.log(JSON.stringify([allowed.Authorized, denied.Authorized]));',
      '',
    ].join('\n');
    writeFileSync(join(project, 'policy.ts'), policy);
    writeFileSync(join(project, 'policy.mjs'), policy);
    const out = await run(process.execPath, [join(project, 'policy.mjs')], { cwd: project, env });
    expect(out.stdout.trim().split('\n').pop()).toBe('[true,false]');
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const typed = await run(
      process.execPath,
      [
        tsc,
        ...['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck'],
        ...['--typeRoots', join(repoRoot, 'node_modules', '@types'), '--types', 'node', 'policy.ts'],
      ],
      { cwd: project, env },
    ).catch((e: { stdout?: string }) => ({ stdout: `tsc failed: ${e.stdout ?? String(e)}` }));
    expect(typed.stdout).toBe('');
  });

  describe('the everyday path printed by npm start -- --keep-running', () => {
    let stack: StackProcess;
    let home: string;

    beforeAll(async () => {
      stack = await startStackProcess(
        process.execPath,
        [join('dist', 'src', 'local', 'main.js'), '--keep-running'],
        {
          cwd: repoRoot,
          env: { PATH: env.PATH, AWS_EC2_METADATA_DISABLED: 'true' },
          timeoutMs: 150_000,
        },
      );
      home = mkdtempSync(join(tmpdir(), 'lkp-home-'));
    }, 180_000);

    afterAll(async () => {
      if (stack?.child.exitCode === null) await stack.stop('SIGKILL');
      if (home) rmSync(home, { recursive: true, force: true });
    });

    it('works as printed with the installed lkp: lkp setup, lkp ssh <Name tag>, plain ssh <instance id>, scp', async () => {
      const { login } = demoLogins();
      expect(stack.lines.map((l) => l.split(' ')[0])).toEqual([
        'unset',
        'export',
        'lkp',
        'lkp',
        'ssh',
        'scp',
      ]);
      const result = await runInThrowawayHome(stack.lines, {
        home,
        path: [join(prefix, 'bin'), dirname(process.execPath)],
      });
      expect(result.code, result.output).toBe(0);
      // whoami answered twice: once through lkp ssh, once through plain ssh.
      expect(result.output.split('\n').filter((l) => l === login)).toHaveLength(2);
      expect(readFileSync(join(home, SCP_COPY), 'utf8')).toBe(readFileSync('/etc/hostname', 'utf8'));
      // Plain ssh ran the installed lkp (ssh-match), not this checkout's.
      expect(readFileSync(join(home, '.lkp', 'ssh_config'), 'utf8')).toContain(
        join(prefix, 'lib', 'node_modules', 'lkp', 'dist', 'lkp.cjs'),
      );
    }, 180_000);

    it('SIGTERM to the PID it printed stops the stand-ins, the CA process and sshd', async () => {
      const started = stack.descendants();
      expect(started.map((p) => p.comm)).toEqual(expect.arrayContaining(['node', 'sshd']));
      expect(await stack.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(started.filter((p) => isAlive(p.pid))).toEqual([]);
    }, 60_000);
  });
});
