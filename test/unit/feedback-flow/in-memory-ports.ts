import { TransientError } from '../../../lambdas/domain/errors';
import type { Correlation, FeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { type FeedbackTrust, verifyFeedbackRecord } from '../../../lambdas/domain/feedback/feedback-trust';
import {
  applyFeedback,
  initialFeedbackState,
  type MessageFeedbackState,
} from '../../../lambdas/domain/feedback/message-timeline';
import type {
  FeedbackSettings,
  MessageFeedbackStore,
  ProcessFeedbackDeps,
} from '../../../lambdas/domain/feedback/process-feedback';
import {
  DEFAULT_REPUTATION_CONFIG,
  type ReputationCounters,
  type ReputationDelta,
  type ReputationStore,
} from '../../../lambdas/domain/feedback/reputation-guard';
import {
  DEFAULT_SUPPRESSION_EXPIRY,
  SUPPRESSION_STRENGTH,
  type SuppressionEntry,
  type SuppressionStore,
} from '../../../lambdas/domain/feedback/suppression-rules';
import type { PauseMark, TenantPauseStore } from '../../../lambdas/domain/feedback/tenant-pause';
import type { MessageStatus, TimelineOutcome } from '../../../lambdas/domain/message';
import type { Environment } from '../../../lambdas/domain/scope';

/**
 * In-memory implementations of the feedback ports with the same contracts as the DynamoDB adapters (which
 * have their own tests on DynamoDB Local): the use case and handler are tested here without I/O.
 */
export class MemoryMessages implements MessageFeedbackStore {
  readonly items = new Map<string, { tenantId: string; recipients: string[]; state: MessageFeedbackState }>();
  failNext?: Error;

  add(
    messageId: string,
    tenantId: string,
    status: MessageStatus,
    recipients = ['recipient@example.com'],
  ): void {
    this.items.set(messageId, { tenantId, recipients, state: initialFeedbackState(status) });
  }

  async applyFeedback(correlation: Correlation, event: FeedbackEvent): Promise<TimelineOutcome> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    // As the ledger: an event without our tag names no email of ours.
    const id = correlation.via === 'ses-message-id' ? undefined : correlation.messageId;
    const item = id ? this.items.get(id) : undefined;
    if (!item) return { result: 'not-found' };
    verifyFeedbackRecord(item, correlation, event);
    const application = applyFeedback(item.state, event);
    if (!application.changed) {
      return { result: 'duplicate', messageId: id ?? '', tenantId: item.tenantId, status: item.state.status };
    }
    item.state = application.state;
    return { result: 'applied', messageId: id ?? '', tenantId: item.tenantId, status: item.state.status };
  }

  /** Provider events kept beside records, by message id (the latest wins, as in the adapter). */
  readonly events = new Map<string, string>();

  async keepFeedbackEvent(messageId: string, raw: string): Promise<void> {
    this.events.set(messageId, raw);
  }
}

export class MemorySuppressions implements Pick<SuppressionStore, 'put'> {
  readonly entries = new Map<string, SuppressionEntry>();

  async put(entry: SuppressionEntry): Promise<{ stored: boolean }> {
    const key = `${entry.tenantId}#${entry.address}`;
    const existing = this.entries.get(key);
    if (
      existing &&
      (SUPPRESSION_STRENGTH[existing.reason] > SUPPRESSION_STRENGTH[entry.reason] ||
        (SUPPRESSION_STRENGTH[existing.reason] === SUPPRESSION_STRENGTH[entry.reason] &&
          existing.createdAt <= entry.createdAt))
    ) {
      return { stored: false };
    }
    this.entries.set(key, entry);
    return { stored: true };
  }
}

export class MemoryReputation implements ReputationStore {
  readonly counted = new Map<string, Set<string>>();
  readonly totals = new Map<string, { sends: number; bounces: number; complaints: number }>();

  async record(tenantId: string, deltas: readonly ReputationDelta[]): Promise<{ counted: number }> {
    const seen = this.counted.get(tenantId) ?? new Set<string>();
    this.counted.set(tenantId, seen);
    const total = this.totals.get(tenantId) ?? { sends: 0, bounces: 0, complaints: 0 };
    this.totals.set(tenantId, total);
    let counted = 0;
    for (const delta of deltas) {
      if (seen.has(delta.eventKey)) continue;
      seen.add(delta.eventKey);
      total.sends += delta.sends;
      total.bounces += delta.bounces;
      total.complaints += delta.complaints;
      counted += 1;
    }
    return { counted };
  }

  async addSends(tenantId: string, _at: string, count: number): Promise<void> {
    const total = this.totals.get(tenantId) ?? { sends: 0, bounces: 0, complaints: 0 };
    this.totals.set(tenantId, total);
    total.sends += count;
  }

  async readWindow(tenantId: string): Promise<ReputationCounters> {
    return { ...(this.totals.get(tenantId) ?? { sends: 0, bounces: 0, complaints: 0 }) };
  }
}

export class MemoryPauses implements TenantPauseStore {
  readonly tenants = new Map<string, Map<Environment, PauseMark | undefined>>();

  addTenant(tenantId: string, environments: readonly Environment[]): void {
    this.tenants.set(tenantId, new Map(environments.map((environment) => [environment, undefined])));
  }

  async exists(tenantId: string): Promise<boolean> {
    return this.tenants.has(tenantId);
  }

  async pause(tenantId: string, mark: PauseMark): Promise<readonly Environment[]> {
    const environments = this.tenants.get(tenantId) ?? new Map();
    const paused: Environment[] = [];
    for (const [environment, current] of environments) {
      if (current) continue;
      environments.set(environment, mark);
      paused.push(environment);
    }
    return paused;
  }

  async resume(tenantId: string): Promise<readonly Environment[]> {
    const environments = this.tenants.get(tenantId) ?? new Map();
    const resumed: Environment[] = [];
    for (const [environment, current] of environments) {
      if (!current) continue;
      environments.set(environment, undefined);
      resumed.push(environment);
    }
    return resumed;
  }
}

export const transientFailure = () =>
  new TransientError('MESSAGES_TABLE_UNAVAILABLE', 'messages table read failed');

export interface MemoryDeps extends ProcessFeedbackDeps {
  readonly messages: MemoryMessages;
  readonly suppressions: MemorySuppressions;
  readonly reputation: MemoryReputation;
  readonly pauses: MemoryPauses;
}

/** Wired in-memory deps; `now` defaults to just after the AWS samples' timestamps (2017). */
/** What the AWS sample events (test/fixtures/ses-feedback) and `snsEnvelope` carry. */
export const SAMPLE_TRUST: FeedbackTrust = {
  topicArn: 'arn:aws:sns:us-east-1:123456789012:ses-feedback',
  accountId: '123456789012',
  region: 'us-east-1',
  configurationSetName: 'ConfigSet',
};

export function memoryDeps(
  settings: Partial<FeedbackSettings> = {},
  now = '2017-08-06T00:00:00.000Z',
): MemoryDeps {
  return {
    messages: new MemoryMessages(),
    suppressions: new MemorySuppressions(),
    reputation: new MemoryReputation(),
    pauses: new MemoryPauses(),
    clock: { now: () => new Date(now) },
    settings: {
      trust: SAMPLE_TRUST,
      reputation: DEFAULT_REPUTATION_CONFIG,
      suppressionExpiry: DEFAULT_SUPPRESSION_EXPIRY,
      simulatorCountsTowardReputation: false,
      ...settings,
    },
  };
}
