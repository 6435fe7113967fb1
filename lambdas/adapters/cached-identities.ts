import type { IdentityStatusView } from '../domain/identity/identity';
import type { Clock } from '../domain/sending/ports';

/**
 * A tenant's identities for the advanced method's From check, cached per warm container for a short TTL so the
 * hot path does not query the identities table per message. A newly verified identity is seen within the TTL.
 */
export class CachedIdentities {
  private readonly cache = new Map<string, { identities: readonly IdentityStatusView[]; until: number }>();

  constructor(
    private readonly source: { listIdentities(tenantId: string): Promise<readonly IdentityStatusView[]> },
    private readonly ttlSeconds = 60,
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  async list(tenantId: string): Promise<readonly IdentityStatusView[]> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(tenantId);
    if (cached && cached.until > now) return cached.identities;
    const identities = (await this.source.listIdentities(tenantId)).map(({ identity, type, status }) => ({
      identity,
      type,
      status,
    }));
    this.cache.set(tenantId, { identities, until: now + this.ttlSeconds * 1000 });
    return identities;
  }
}
