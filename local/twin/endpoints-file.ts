import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scope } from '../../lambdas/domain/scope';

/** One scope's endpoints, as `.local/endpoints.json` lists them (top level for the default scope, and under `scopes`). */
export interface ScopeEndpoints {
  readonly scope: Scope;
  readonly region: string;
  readonly dynamodb: string;
  readonly sqs: string;
  readonly sns: string;
  /** This scope's SES emulator (its own account). */
  readonly ses: string;
  readonly dns: string;
  readonly secretsManager: string;
  readonly secretsDir: string;
  readonly smtpRelay: string;
  /** Queue URL by queue name (`tenant-mail-<scope>-send`…). */
  readonly queues: Record<string, string>;
  /** Table name by table name. */
  readonly tables: Record<string, string>;
  readonly viewer: string;
  readonly sesMessages: string;
  /** This scope's EventBridge emulator (the `tenant-mail.<scope>` bus; `<url>/_local/events` lists its events). */
  readonly eventBridge: string;
}

/**
 * What `npm start` writes to `<data dir>/endpoints.json` (`.local/endpoints.json` by default): the default
 * scope's endpoints at the top level (as before `--scope all`), every running scope under `scopes`, and the
 * relay's certificate. Removed again when the twin stops.
 */
export type LocalEndpointsFile = ScopeEndpoints & {
  /** Every scope the twin runs. */
  readonly scopes: Partial<Record<Scope, ScopeEndpoints>>;
  /** Absolute path of the local SMTP relay's certificate (PEM), to trust with NODE_EXTRA_CA_CERTS. */
  readonly relayCaCertificate: string;
};

/** Writes the endpoints file whole, then renames it into place, so a reader never sees half a file. */
export function writeEndpointsFile(dataDir: string, endpoints: LocalEndpointsFile): string {
  const file = join(dataDir, 'endpoints.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(endpoints, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

export function readEndpointsFile(file: string): LocalEndpointsFile {
  return JSON.parse(readFileSync(file, 'utf8')) as LocalEndpointsFile;
}
