import { TransientError } from '../errors';
import type { MessageLedger } from '../message/message-ledger';
import type { SendLanes } from '../message/send-lanes';
import type { Environment } from '../scope';
import type { Clock } from '../sending/ports';
import { laneMessageFromBody } from '../sending/send-request';
import { UnknownTenantError } from '../tenant';

/** Why and since when a tenant's mail is held (stored on each of its environments as `paused`). */
export interface PauseMark {
  readonly reason: string;
  /** ISO-8601 time of the pause. */
  readonly at: string;
}

/** The tenants table as pause and resume see it; `lambdas/adapters/tenant-pause-store.ts` implements it. */
export interface TenantPauseStore {
  /**
   * Marks every environment of the tenant paused, each with a conditional write that only succeeds when the
   * environment is not paused already (the first reason stands). Returns the environments newly paused.
   */
  pause(tenantId: string, mark: PauseMark): Promise<readonly Environment[]>;
  /** Clears `paused` on every environment of the tenant; returns the environments that were paused. */
  resume(tenantId: string): Promise<readonly Environment[]>;
  /** False when the tenant does not exist in this scope. */
  exists(tenantId: string): Promise<boolean>;
}

export interface PauseResult {
  readonly tenantId: string;
  /** Environments newly paused; empty when all were paused already. */
  readonly paused: readonly Environment[];
}

export interface ResumeResult {
  readonly tenantId: string;
  /** Environments that were paused and are not any more. */
  readonly resumed: readonly Environment[];
  /** Held messages put back on the send queue. */
  readonly released: number;
  /** PAUSED items without a kept request (nothing to re-enqueue; see the item's reason). */
  readonly skipped: number;
}

/**
 * An operator pauses a tenant: every environment holds its mail as PAUSED (the sender keeps the request) until
 * `resumeTenant`. Pausing a paused tenant changes nothing and keeps the first reason.
 * @throws UnknownTenantError when the tenant does not exist.
 */
export async function pauseTenant(
  tenantId: string,
  reason: string,
  deps: { readonly pauses: TenantPauseStore; readonly clock: Clock },
): Promise<PauseResult> {
  if (!(await deps.pauses.exists(tenantId))) throw new UnknownTenantError(tenantId);
  const paused = await deps.pauses.pause(tenantId, { reason, at: deps.clock.now().toISOString() });
  return { tenantId, paused };
}

/**
 * Resumes a paused tenant: clears `paused` on its environments first (so the sender stops holding new mail),
 * then re-enqueues every message held as PAUSED. Safe to run again: a second run releases whatever the sender
 * held while its cached tenant settings still said paused (they are cached for up to 30 s).
 * The reputation counters are not reset: a tenant resumed while its window is still above the pause level is
 * paused again by the next bounce or complaint, so fix the cause (clean the list) before resuming.
 * @throws UnknownTenantError when the tenant does not exist.
 */
export async function resumeTenant(tenantId: string, deps: ReleaseDeps): Promise<ResumeResult> {
  if (!(await deps.pauses.exists(tenantId))) throw new UnknownTenantError(tenantId);
  const resumed = await deps.pauses.resume(tenantId);
  const { released, skipped } = await releaseHeld(tenantId, deps);
  return { tenantId, resumed, released, skipped };
}

export interface ReleaseDeps {
  readonly pauses: TenantPauseStore;
  readonly ledger: Pick<MessageLedger, 'held' | 'markReleased'>;
  readonly lanes: SendLanes;
}

/**
 * Puts every PAUSED message of the tenant back on its lane (its kept request, key and group unchanged), then
 * marks it QUEUED only if it is still PAUSED. Enqueue first, mark second: a crash in between leaves it PAUSED,
 * and a second release enqueues it again, which the sender's claim turns into one send (same message id).
 */
async function releaseHeld(
  tenantId: string,
  deps: ReleaseDeps,
): Promise<{ released: number; skipped: number }> {
  let released = 0;
  let skipped = 0;
  for await (const item of deps.ledger.held(tenantId)) {
    if (!item.request) {
      skipped += 1;
      continue;
    }
    const { sent } = await deps.lanes.publish([
      { ...laneMessageFromBody(item.request), messageId: item.messageId },
    ]);
    if (sent.length !== 1) {
      throw new TransientError(
        'SEND_LANE_UNAVAILABLE',
        `releasing ${item.messageId}: the send lane refused it; run resume again`,
      );
    }
    released += 1;
    await deps.ledger.markReleased(item.messageId);
  }
  return { released, skipped };
}
