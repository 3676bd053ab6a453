/**
 * `npm start` (src/local/main.ts), as built: the demo runs the everyday path from a throwaway HOME
 * against a real sshd, and with --keep-running a signal to its PID stops everything it started.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoLogins } from '../../src/local/demo.js';
import { LOCAL_INSTANCE_ID, LOCAL_INSTANCE_NAME } from '../../src/local/stack.js';
import { repoRoot, runNode } from '../helpers/run-node.js';
import { isAlive, startStackProcess } from '../helpers/stack-process.js';

const { login } = demoLogins();

describe('npm start (the local stack demo)', () => {
  it('runs lkp setup, lkp ssh <Name tag>, plain ssh <instance id> and scp, and shows another user refused', async () => {
    // The whole demo, EICE step included, on a machine busy with other tests.
    const { code, stdout, stderr } = await runNode(['dist/src/local/main.js', '--exit'], {}, 170_000);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /\$ lkp setup --url http:\/\/127\.0\.0\.1:\d+ --default-user \S+\n.*lkp profile "default"/,
    );
    expect(stdout).toContain(`$ lkp ssh ${LOCAL_INSTANCE_NAME} -- whoami\n`);
    expect(stdout).toMatch(new RegExp(`\\$ ssh ${LOCAL_INSTANCE_ID} whoami\\n\\s+${login}\\n`));
    expect(stdout).toMatch(new RegExp(`\\$ scp ${LOCAL_INSTANCE_ID}:/etc/hostname \\S+\\n`));
    expect(stdout).toMatch(/refused by sshd, as it must be: .*Permission denied/);
    expect(stdout).toMatch(/through: EC2 Instance Connect Endpoint eice-\S+/);
    expect(stdout).toMatch(/Success:/);
  }, 180_000);

  it.each(['SIGINT', 'SIGHUP'] as const)(
    'stops the stand-ins, the CA process and sshd on %s to its PID',
    async (signal) => {
      const stack = await startStackProcess(
        process.execPath,
        [join('dist', 'src', 'local', 'main.js'), '--keep-running'],
        {
          cwd: repoRoot,
          env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true' },
          timeoutMs: 120_000,
        },
      );
      const started = stack.descendants();
      // What there is to stop: the CA (node) and the demo instance's sshd, at least.
      expect(started.map((p) => p.comm)).toEqual(expect.arrayContaining(['node', 'sshd']));
      expect(stack.output()).toContain(`running as PID ${stack.child.pid}`);
      const ended = await stack.stop(signal);
      expect(ended).toEqual({ code: 0, signal: null });
      expect(started.filter((p) => isAlive(p.pid))).toEqual([]);
    },
    150_000,
  );
});
