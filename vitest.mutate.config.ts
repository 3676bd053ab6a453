import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run mutate` (stryker.config.mjs): only the tests that run in-process, without dist/ or an sshd.
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/unit/**/*.test.ts', 'test/security/**/*.test.ts', 'test/integration/**/*.test.ts'],
  },
});
