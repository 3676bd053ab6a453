// Mutation testing of the modules that decide what is trusted (issue 15): `npm run mutate`, or one
// module at a time with `npm run mutate -- --mutate src/template.ts`. Not part of CI: it takes long.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'src/identity/proof.ts',
    'src/identity/sts.ts',
    'src/identity/voucher.ts',
    'src/authorize/response.ts',
    'src/template.ts',
  ],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  coverageAnalysis: 'perTest',
  // The machines are small and shared: one test process, and only changed mutants re-run.
  concurrency: 1,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
