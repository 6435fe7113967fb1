import type { IdentityStatusView } from '../domain/identity/identity';
import type { Clock } from '../domain/sending/ports';

/**
 * A tenant's identities for the advanced method's From check, cached per warm container for a short TTL so the
 * hot path does not query the identities table per message. A cached SUCCESS may be used; anything that would
 * refuse a From is read again first (`fresh`), so a newly verified identity is used at once.
 */
export class CachedIdentities {
  private readonly cache = new Map<string, { identities: readonly IdentityStatusView[]; until: number }>();

  constructor(
    private readonly source: { listIdentities(tenantId: string): Promise<readonly IdentityStatusView[]> },
    private readonly ttlSeconds = 60,
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  /** `fresh`: read the table even within the TTL (and refresh the cache), before refusing a From. */
  async list(
    tenantId: string,
    options: { readonly fresh?: boolean } = {},
  ): Promise<readonly IdentityStatusView[]> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(tenantId);
    if (cached && cached.until > now && !options.fresh) return cached.identities;
    const identities = (await this.source.listIdentities(tenantId)).map(({ identity, type, status }) => ({
      identity,
      type,
      status,
    }));
    this.cache.set(tenantId, { identities, until: now + this.ttlSeconds * 1000 });
    return identities;
  }
}
