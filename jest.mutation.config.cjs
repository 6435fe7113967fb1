/**
 * Jest for `npm run test:mutation` (StrykerJS): the tests that exercise the message and sending domain, with
 * the emulators started once by scripts/mutation.ts instead of by every Jest run.
 */
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/unit/**/*.test.ts',
    '<rootDir>/test/integration/message-lifecycle/*.test.ts',
  ],
  globalTeardown: undefined,
  // Instrumented code with per-test coverage runs several times slower.
  testTimeout: 180_000,
};
