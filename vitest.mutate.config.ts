import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run mutate` (stryker.config.mjs): only the tests that run in-process, without dist/ or an sshd
// (a test that drives the built bundle or a child process cannot see a mutant). LKP_MUTATE_TESTS
// (comma-separated globs) narrows that set to the tests of the module under mutation, so each
// mutant runs fewer tests on a small machine.
const DEFAULT_TESTS = [
  'test/unit/**/*.test.ts',
  'test/security/**/*.test.ts',
  'test/integration/**/*.test.ts',
];
const narrowed = process.env.LKP_MUTATE_TESTS?.split(',')
  .map((glob) => glob.trim())
  .filter((glob) => glob !== '');

export default defineConfig({
  test: {
    ...base.test,
    include: narrowed && narrowed.length > 0 ? narrowed : DEFAULT_TESTS,
  },
});
