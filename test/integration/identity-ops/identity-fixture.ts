import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateConfigurationSetCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoIdentityStore } from '../../../lambdas/adapters/identity-store';
import { SesV2IdentityGateway } from '../../../lambdas/adapters/ses-identity-gateway';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import type { IdentityServiceDeps } from '../../../lambdas/domain/identity/identity-ports';
import { IdentityService } from '../../../lambdas/domain/identity/identity-service';
import type { Scope } from '../../../lambdas/domain/scope';
import { resourcePrefix } from '../../../lib/config/names';
import type { LocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import type { SesEmulator } from '../../../local/ses';

/** An SES v2 client for an emulator, counting the commands it sends by name. */
export function countingSesClient(endpoint: string, maxAttempts?: number) {
  const calls: string[] = [];
  const client = new SESv2Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    ...(maxAttempts ? { maxAttempts } : {}),
  });
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { client, calls };
}

/** A loopback URL nothing listens on (a server is started to reserve a free port, then stopped). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The scope's configuration set, which every SES tenant gets associated with. */
export async function createConfigurationSet(client: SESv2Client, scope: Scope): Promise<void> {
  await client.send(new CreateConfigurationSetCommand({ ConfigurationSetName: resourcePrefix(scope) }));
}

/** An identity service for one scope, through the real adapters. */
export function serviceFor(input: {
  scope: Scope;
  documents: DynamoDBDocumentClient;
  identitiesTable: string;
  tenantsTable: string;
  ses: SESv2Client;
  dns?: LocalDnsServer;
  overrides?: Partial<IdentityServiceDeps>;
}): { service: IdentityService; identities: DynamoIdentityStore; tenants: DynamoTenantStore } {
  const identities = new DynamoIdentityStore({ client: input.documents, tableName: input.identitiesTable });
  const tenants = new DynamoTenantStore(input.documents, {
    tableName: input.tenantsTable,
    cacheTtlSeconds: 0,
  });
  const service = new IdentityService({
    scope: input.scope,
    identities,
    ses: new SesV2IdentityGateway(input.ses),
    tenants,
    configurationSetName: resourcePrefix(input.scope),
    ...(input.overrides ?? {}),
  });
  return { service, identities, tenants };
}

/** Publishes a domain identity's Easy DKIM CNAMEs in the local DNS, as the tenant would at its provider. */
export function publishDkim(dns: LocalDnsServer, domain: string, tokens: readonly string[]): void {
  for (const token of tokens)
    dns.setRecords(`${token}._domainkey.${domain}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
}

/** The link in the verification mail the emulator "sent" to an email identity, as a path. */
export function verificationPath(ses: SesEmulator, address: string): string {
  const message = ses.store.messages.find(
    (m) => m.kind === 'verification' && m.destination.includes(address),
  );
  const path = message?.raw.toString().match(/\/_local\/verify\/[0-9a-f]+/)?.[0];
  if (!path) throw new Error(`no verification mail for ${address}`);
  return path;
}
