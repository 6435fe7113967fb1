import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type AdminClient, AdminInputError, createAdminClient } from '../client/admin-client';
import { SCOPES, type Scope } from '../lambdas/domain/scope';
import type { LocalEndpoints, LocalScopeEndpoints } from './local-endpoints';
import type { CliIo, GlobalOptions, SessionExtras } from './runner';

/** Dummy credentials for the local twin's emulators: they accept any, and no AWS account is involved. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface Session {
  readonly admin: AdminClient;
  readonly scope: Scope;
  readonly local?: LocalEndpoints;
  close(): void;
}

function readEndpoints(file: string): LocalEndpoints {
  if (!existsSync(file))
    throw new AdminInputError(
      `no local twin is running: start it with \`npm start\` (it writes ${file})`,
      'NO_LOCAL_TWIN',
    );
  return JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
}

/** The twin's endpoints of the scope asked for (`scopes[scope]`, else the top level), or of its default scope. */
export function localScope(endpoints: LocalEndpoints, asked: string | undefined): LocalScopeEndpoints {
  const running = [...new Set([endpoints.scope, ...Object.keys(endpoints.scopes ?? {})])];
  const scope = asked ?? endpoints.scope;
  const found = endpoints.scopes?.[scope as Scope] ?? (endpoints.scope === scope ? endpoints : undefined);
  if (!found)
    throw new AdminInputError(
      `the local twin runs the ${running.join(' and ')} scope${running.length > 1 ? 's' : ''}, not ${scope}: drop --scope, or restart it with --scope ${scope}`,
      'SCOPE_NOT_RUNNING',
    );
  return { ...found, scope: scope as Scope };
}

/**
 * The platform's sending domain of the scope (cdk.json `tenantMail.scopes.<scope>.senderDomain`, or
 * `TENANT_MAIL_<SCOPE>_SENDER_DOMAIN`): tenants can never add it or its subdomains.
 */
function platformDomains(scope: Scope, io: CliIo): string[] {
  const fromEnv = io.env[`TENANT_MAIL_${scope.toUpperCase()}_SENDER_DOMAIN`];
  if (fromEnv) return [fromEnv];
  const file = join(io.projectDir, 'cdk.json');
  if (!existsSync(file)) return [];
  try {
    const cdk = JSON.parse(readFileSync(file, 'utf8')) as {
      context?: { tenantMail?: { scopes?: Record<string, { senderDomain?: unknown }> } };
    };
    const domain = cdk.context?.tenantMail?.scopes?.[scope]?.senderDomain;
    return typeof domain === 'string' && domain !== '' ? [domain] : [];
  } catch {
    return [];
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new AdminInputError(`cannot read the CA file ${file}: ${(error as Error).message}`, 'INVALID_FILE');
  }
}

/**
 * Clients and the admin client for one command: with `--local`, pointed at the endpoints the twin wrote (all
 * through the same SDK clients as AWS, Secrets Manager included); otherwise the operator's own AWS credentials
 * and region (the SDK's usual resolution).
 */
export async function openSession(
  globals: GlobalOptions,
  extras: SessionExtras,
  io: CliIo,
): Promise<Session> {
  let local: LocalEndpoints | undefined;
  let endpoints: LocalScopeEndpoints | undefined;
  if (globals.local) {
    local = readEndpoints(resolve(io.projectDir, globals.endpoints ?? join('.local', 'endpoints.json')));
    endpoints = localScope(local, globals.scope);
  }
  const scope = (endpoints?.scope ?? globals.scope ?? 'dev') as Scope;
  if (!(SCOPES as readonly string[]).includes(scope))
    throw new AdminInputError(`--scope must be one of ${SCOPES.join(', ')}`, 'INVALID_SCOPE');
  const base = endpoints
    ? { region: endpoints.region, credentials: LOCAL_CREDENTIALS }
    : globals.region
      ? { region: globals.region }
      : {};
  const at = (endpoint: string | undefined) => (endpoint ? { endpoint } : {});
  const clients = {
    dynamodb: new DynamoDBClient({ ...base, ...at(endpoints?.dynamodb) }),
    ses: new SESv2Client({ ...base, ...at(endpoints?.ses) }),
    sqs: new SQSClient({ ...base, ...at(endpoints?.sqs) }),
    secrets: new SecretsManagerClient({ ...base, ...at(endpoints?.secretsManager) }),
  };
  const dnsServers = extras.dnsServers?.length
    ? extras.dnsServers
    : endpoints?.dns
      ? [endpoints.dns]
      : undefined;
  const caFile = extras.caFile ?? (endpoints ? local?.relayCaCertificate : undefined);
  const admin = createAdminClient({
    scope,
    clients,
    ...(endpoints?.queues ? { queues: queuesByShortName(scope, endpoints.queues) } : {}),
    platformDomains: platformDomains(scope, io),
    ...(dnsServers ? { dnsServers } : {}),
    ...(caFile ? { relayCa: readCa(caFile) } : {}),
  });
  return {
    admin,
    scope,
    ...(local ? { local: { ...local, ...endpoints } } : {}),
    close() {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

/** The twin lists queues by physical name (`tenant-mail-dev-send`); the admin client by short name (`send`). */
function queuesByShortName(scope: Scope, queues: Record<string, string>): Record<string, string> {
  const prefix = `tenant-mail-${scope}-`;
  return Object.fromEntries(
    Object.entries(queues)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, url]) => [name.slice(prefix.length), url]),
  );
}
