import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoIdentityStore } from '../adapters/identity-store';
import { SesV2IdentityGateway } from '../adapters/ses-identity-gateway';
import { DynamoTenantStore } from '../adapters/tenant-store';
import { IdentityService } from '../domain/identity/identity-service';
import { loadIdentityRefreshConfig } from '../shared/identity-config';
import { createRefreshIdentitiesHandler } from './refresh-identities';

// Composition root: configuration and clients are created once per container, at cold start.
const config = loadIdentityRefreshConfig();
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export const handler = createRefreshIdentitiesHandler(
  new IdentityService({
    scope: config.scope,
    identities: new DynamoIdentityStore({ client: documents, tableName: config.tables.identities }),
    ses: new SesV2IdentityGateway(new SESv2Client({})),
    tenants: new DynamoTenantStore(documents, { tableName: config.tables.tenants, cacheTtlSeconds: 0 }),
    configurationSetName: config.configurationSetName,
    refreshConcurrency: config.concurrency,
  }),
  { includeVerified: config.includeVerified },
);
