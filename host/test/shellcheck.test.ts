/** The agent runs as root on every instance: shellcheck finds nothing in it (CI installs shellcheck). */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../../test/helpers/run-node.js';
import { AGENT } from './agent.js';

const hasShellcheck = (() => {
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('lkp-host-agent', () => {
  // CI must have it: a missing shellcheck there fails instead of skipping.
  it.skipIf(!hasShellcheck && !process.env.CI)(
    'is shellcheck-clean',
    async () => {
      const run = await runProgram('shellcheck', ['--shell=bash', '--severity=style', AGENT], {
        timeout: 60_000,
      });
      expect(run.stdout).toBe('');
      expect(run.code).toBe(0);
    },
    60_000,
  );
});
