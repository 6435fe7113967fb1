/** Stops what `global-setup.ts` started. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__tenantMailEmulators ?? []).map((emulator) => emulator.stop()));
}
