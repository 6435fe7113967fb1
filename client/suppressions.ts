import { DynamoSuppressionStore } from '../lambdas/adapters/suppression-store';
import { normalizeAddress } from '../lambdas/domain/feedback/feedback-event';
import type { SuppressionEntry } from '../lambdas/domain/feedback/suppression-rules';
import { emailAddress } from '../lambdas/domain/sending/mail-policy';
import type { AdminContext } from './admin-context';
import { AdminInputError } from './admin-errors';

/** An address as the suppression list keys it, or an AdminInputError. */
export function suppressionAddress(address: string): string {
  if (!emailAddress.safeParse(address).success)
    throw new AdminInputError(`${address} is not an email address`, 'INVALID_ADDRESS');
  return normalizeAddress(address);
}

/** A tenant's suppression list: addresses the sender never mails (bounces expire after 365 days). */
export class SuppressionsApi {
  constructor(private readonly ctx: AdminContext) {}

  list(
    tenantId: string,
    options: { readonly limit?: number; readonly cursor?: string } = {},
  ): Promise<{ items: SuppressionEntry[]; cursor?: string }> {
    return this.store().list(tenantId, options);
  }

  /** Active entries of these addresses (expired ones do not count). */
  async find(tenantId: string, addresses: readonly string[]): Promise<Map<string, SuppressionEntry>> {
    return this.store().isSuppressed(tenantId, addresses, this.ctx.now());
  }

  /** Adds an address by hand: reason MANUAL, never expires. */
  async add(
    tenantId: string,
    address: string,
    note?: string,
  ): Promise<{ readonly address: string; readonly stored: boolean }> {
    const normalized = suppressionAddress(address);
    const { stored } = await this.store().put({
      tenantId,
      address: normalized,
      reason: 'MANUAL',
      createdAt: this.ctx.now().toISOString(),
      ...(note ? { detail: note } : {}),
    });
    return { address: normalized, stored };
  }

  /** Lets the tenant mail the address again; removing an absent address changes nothing. */
  async remove(tenantId: string, address: string): Promise<{ readonly address: string }> {
    const normalized = suppressionAddress(address);
    await this.store().remove(tenantId, normalized);
    return { address: normalized };
  }

  private store(): DynamoSuppressionStore {
    return new DynamoSuppressionStore(this.ctx.documents, this.ctx.tableName('suppressions'));
  }
}
