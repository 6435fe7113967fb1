// Runs the CLI from its TypeScript sources (`tsx cli/main-entry.ts …`); the published entry is bin/tenant-mail.cjs.
import { run } from './main';

run();
