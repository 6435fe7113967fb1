import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startTestEmulators } from '../test/support/global-setup';

/**
 * `npm run test:mutation`: StrykerJS over `lambdas/domain/message` and `lambdas/domain/sending`. The emulators
 * start once here and every Jest run Stryker makes reuses them (global-setup.ts sees TM_TEST_STACK).
 * Report: test-artifacts/mutation.json; the survivors and why they are acceptable: docs/reliability.md.
 */
async function main(): Promise<number> {
  const started = await startTestEmulators();
  try {
    const result = spawnSync(
      join(__dirname, '..', 'node_modules', '.bin', 'stryker'),
      ['run', ...process.argv.slice(2)],
      {
        stdio: 'inherit',
        env: { ...process.env, ...started.env, TENANT_MAIL_MUTATION: '1' },
      },
    );
    return result.status ?? 1;
  } finally {
    await Promise.all(started.emulators.map((emulator) => emulator.stop()));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
