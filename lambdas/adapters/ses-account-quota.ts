import { GetAccountCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { RateLimits } from '../domain/rate-limit/rate-limits';

export interface SesAccountQuotaOptions {
  /** Seconds a container trusts the rate it read (SES raises limits on request, rarely). @default 300 */
  readonly ttlSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Share of the maximum send rate the sender paces to. Concurrent senders' requests reach SES a few
   * milliseconds off their slots; the rest of the rate absorbs that jitter so SES never sees a burst over it.
   * @default 0.97
   */
  readonly share?: number;
}

/**
 * The SES account's maximum send rate, as SES counts it (recipients per second), read with `GetAccount` and
 * cached per container; the sender paces to `share` of it. If SES cannot be asked, the last rate read is kept; with none yet, sends go unpaced and
 * a throttled send is deferred like any other.
 */
export class SesAccountQuota {
  private cached?: { readonly limits: RateLimits; readonly until: number };
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly share: number;

  constructor(
    private readonly client: SESv2Client,
    options: SesAccountQuotaOptions = {},
  ) {
    this.ttlMs = (options.ttlSeconds ?? 300) * 1_000;
    this.now = options.now ?? Date.now;
    this.share = options.share ?? 0.97;
  }

  async limits(): Promise<RateLimits> {
    const now = this.now();
    if (this.cached && this.cached.until > now) return this.cached.limits;
    try {
      const account = await this.client.send(new GetAccountCommand({}));
      const rate = account.SendQuota?.MaxSendRate;
      const limits: RateLimits = rate && rate > 0 ? { recipientsPerSecond: rate * this.share } : {};
      this.cached = { limits, until: now + this.ttlMs };
      return limits;
    } catch {
      return this.cached?.limits ?? {};
    }
  }
}
