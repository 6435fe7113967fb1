import { CachedIdentities } from '../../../lambdas/adapters/cached-identities';
import type { IdentityStatusView } from '../../../lambdas/domain/identity/identity';
import { prepareEmail } from '../../../lambdas/domain/sending/prepare-email';
import { sendRequestSchema } from '../../../lambdas/domain/sending/send-request';
import { tenantSchema } from '../../../lambdas/domain/tenant';

describe('a From is never refused on cached identity data', () => {
  const tenant = tenantSchema.parse({
    tenantId: 'northwind',
    displayName: 'Northwind Traders',
    profileEmail: 'billing@northwind.example',
    environments: { 'developer-sandbox': { method: 'advanced', fromAddress: 'billing@northwind.example' } },
  });
  const settings = tenant.environments['developer-sandbox'] ?? { method: 'advanced' as const, enabled: true };
  const request = sendRequestSchema.parse({
    tenantId: 'northwind',
    environment: 'developer-sandbox',
    to: ['ap@customer.example'],
    subject: 'Invoice',
    text: 'x',
  });

  it('re-reads a cached PENDING identity before refusing, and uses the fresh SUCCESS at once', async () => {
    let status: IdentityStatusView['status'] = 'PENDING';
    let reads = 0;
    const identities = new CachedIdentities(
      {
        listIdentities: async () => {
          reads += 1;
          return [{ identity: 'northwind.example', type: 'domain' as const, status }];
        },
      },
      60,
    );
    const context = {
      scope: 'dev' as const,
      platformFromAddress: 'notifications@mail.platform.example',
      identities: (options?: { fresh?: boolean }) => identities.list('northwind', options),
    };
    await expect(prepareEmail('m1', request, tenant, settings, context)).rejects.toThrow('PENDING');
    expect(reads).toBe(2);
    // Verified a second later; the cache (60 s) still says PENDING, but the refusal path reads again.
    status = 'SUCCESS';
    const prepared = await prepareEmail('m2', request, tenant, settings, context);
    expect(prepared.email.from.address).toBe('billing@northwind.example');
    expect(reads).toBe(3);
    // A cached SUCCESS is used as it is.
    await prepareEmail('m3', request, tenant, settings, context);
    expect(reads).toBe(3);
  });
});
