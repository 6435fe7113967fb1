/** Jest runs on Node 24 (the `node` devDependency) so fauxqs and mailauth work; see scripts/check-node.cjs. */
const swc = [
  '@swc/jest',
  {
    jsc: { target: 'es2023', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  testEnvironment: 'node',
  // `tenant-mail/client` (and `/local`, the root) resolve to this repository's sources, not to the built dist/.
  testEnvironmentOptions: { customExportConditions: ['node', 'node-addons', 'tenant-mail-source'] },
  roots: ['<rootDir>/test', '<rootDir>/local'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  // @middy/* is ESM-only: let swc turn it into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  setupFiles: ['<rootDir>/test/support/quiet-logs.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
