import { PermanentError } from '../errors';
import type { MessageLedger, TimelineOutcome } from '../message/message-ledger';
import type { Environment } from '../scope';
import type { Clock } from '../sending/ports';
import {
  type Correlation,
  type FeedbackEvent,
  type RelayRejection,
  relayRejectionFeedback,
  toFeedbackEvent,
} from './feedback-event';
import { type EnvelopeVerifier, type FeedbackTrust, verifyFeedbackSource } from './feedback-trust';
import {
  evaluate,
  isSimulatorAddress,
  type ReputationConfig,
  type ReputationDelta,
  type ReputationEvaluation,
  type ReputationStore,
  reputationDeltas,
} from './reputation-guard';
import { readFeedbackMessage } from './ses-event-schema';
import { decideSuppressions, type SuppressionExpiryPolicy, type SuppressionStore } from './suppression-rules';
import type { TenantPauseStore } from './tenant-pause';

/** The messages table as feedback sees it (the one message ledger). */
export type MessageFeedbackStore = Pick<MessageLedger, 'applyFeedback' | 'keepFeedbackEvent'>;

/** Events that decide a failure status: the one applied last is kept whole for `message show`. */
const KEPT_EVENT_TYPES: ReadonlySet<string> = new Set(['Bounce', 'Complaint', 'Reject', 'RenderingFailure']);

export interface FeedbackSettings {
  readonly reputation: ReputationConfig;
  readonly suppressionExpiry: SuppressionExpiryPolicy;
  /**
   * Whether mail to the SES mailbox simulator counts toward a tenant's reputation. SES does not count it
   * toward the account's rates, and the self-test must not harm a tenant, so production leaves this off;
   * the end-to-end tests turn it on to drive the guard with simulator bounces. @default false
   */
  readonly simulatorCountsTowardReputation: boolean;
  /** What genuine feedback of this scope looks like; anything else is dead-lettered unapplied. */
  readonly trust: FeedbackTrust;
}

/** Dependencies of the reputation guard, shared by SES feedback and relay rejections. */
export interface ReputationGuardDeps {
  readonly suppressions: Pick<SuppressionStore, 'put'>;
  readonly reputation: ReputationStore;
  readonly pauses: Pick<TenantPauseStore, 'pause'>;
  readonly clock: Clock;
  readonly settings: FeedbackSettings;
}

export interface ProcessFeedbackDeps extends ReputationGuardDeps {
  readonly messages: MessageFeedbackStore;
  /** SNS signature verification (`FEEDBACK_VERIFY_SIGNATURES=true`); off when absent. */
  readonly signatures?: EnvelopeVerifier;
}

/** What the guard concluded for a tenant after counting an event. */
export interface GuardOutcome {
  /** Suppression entries newly stored (normalised addresses). */
  readonly suppressed: readonly string[];
  /** Reputation deltas newly counted (0 for a redelivery). */
  readonly counted: number;
  /** The tenant's window after counting; absent when the event changes no counter (Delivery, DeliveryDelay…). */
  readonly evaluation?: ReputationEvaluation;
  /** Environments this event paused (empty when none, or when they were paused already). */
  readonly pausedEnvironments: readonly Environment[];
}

export interface FeedbackOutcome extends GuardOutcome {
  readonly eventType: FeedbackEvent['eventType'];
  readonly messageId: string;
  readonly tenantId: string;
  readonly timeline: TimelineOutcome['result'];
}

/** Feedback that names no message we know and no tenant: nothing can be attributed, so it is dead-lettered. */
export class UncorrelatedFeedbackError extends PermanentError {
  constructor(correlation: Correlation) {
    super(
      'UNCORRELATED_FEEDBACK',
      `no message record for ${correlation.via === 'tag' ? 'message id' : 'SES message id'} ${correlation.messageId.slice(0, 64)}`,
    );
    this.name = 'UncorrelatedFeedbackError';
  }
}

function countedDeltas(event: FeedbackEvent, settings: FeedbackSettings): ReputationDelta[] {
  if (settings.simulatorCountsTowardReputation) return reputationDeltas(event);
  const simulator = new Set(
    event.recipients.filter((fact) => isSimulatorAddress(fact.recipient)).map((fact) => fact.eventKey),
  );
  return reputationDeltas(event).filter((delta) => !simulator.has(delta.eventKey));
}

/**
 * Suppression entries, reputation counters, evaluation and pause for one tenant's event. Every step is
 * idempotent (conditional suppression puts, counters keyed by event key, a pause only if not paused), so a
 * redelivered event changes nothing, and the evaluation runs even when nothing new was counted: a retry after a
 * failure between counting and pausing still pauses.
 */
export async function guardTenant(
  tenantId: string,
  event: FeedbackEvent,
  deps: ReputationGuardDeps,
): Promise<GuardOutcome> {
  const { settings } = deps;
  const suppressed: string[] = [];
  for (const entry of decideSuppressions(tenantId, event, settings.suppressionExpiry)) {
    const { stored } = await deps.suppressions.put(entry);
    if (stored) suppressed.push(entry.address);
  }
  const deltas = countedDeltas(event, settings);
  if (deltas.length === 0) return { suppressed, counted: 0, pausedEnvironments: [] };
  const { counted } = await deps.reputation.record(tenantId, deltas);
  const now = deps.clock.now();
  const evaluation = evaluate(
    await deps.reputation.readWindow(tenantId, now, settings.reputation.windowHours),
    settings.reputation,
  );
  const pausedEnvironments =
    evaluation.level === 'pause'
      ? await deps.pauses.pause(tenantId, {
          reason: `reputation guard: ${evaluation.reason}`,
          at: now.toISOString(),
        })
      : [];
  return { suppressed, counted, evaluation, pausedEnvironments };
}

/**
 * The feedback Lambda's use case for one queue message: parse (SNS envelope or raw SES record) → message
 * timeline → suppression list → reputation counters → evaluation → pause on `pause`.
 *
 * The tenant is the message record's (authoritative) or, without a record, the `tenant-id` tag; feedback with
 * neither is refused. Errors: `MalformedFeedbackError` / `UncorrelatedFeedbackError` (permanent: record the
 * reason and do not retry), `TransientError` (retry the record).
 */
export async function processFeedback(body: string, deps: ProcessFeedbackDeps): Promise<FeedbackOutcome> {
  const message = readFeedbackMessage(body);
  verifyFeedbackSource(message, deps.settings.trust);
  if (deps.signatures && message.envelope) await deps.signatures.verify(message.envelope);
  const event = toFeedbackEvent(message.sesEvent);
  const { correlation } = event;
  const timeline = await deps.messages.applyFeedback(correlation, event);
  if (timeline.result === 'ignored') {
    // The provider never had this email (the sender rejected or suppressed it): nothing to count or suppress.
    return {
      eventType: event.eventType,
      messageId: timeline.messageId,
      tenantId: timeline.tenantId,
      timeline: timeline.result,
      suppressed: [],
      counted: 0,
      pausedEnvironments: [],
    };
  }
  // Only feedback about an email we sent is believed: suppressions and counters need its record.
  if (timeline.result === 'not-found') throw new UncorrelatedFeedbackError(correlation);
  const { tenantId, messageId } = timeline;
  if (timeline.result === 'applied' && KEPT_EVENT_TYPES.has(event.eventType)) {
    await deps.messages.keepFeedbackEvent(messageId, JSON.stringify(message.sesEvent));
  }
  const resolved: FeedbackEvent = { ...event, correlation: { ...correlation, messageId, tenantId } };
  const guard = await guardTenant(tenantId, resolved, deps);
  return {
    eventType: event.eventType,
    messageId,
    tenantId,
    timeline: timeline.result,
    ...guard,
  };
}

/**
 * For the sender: a tenant relay's synchronous 5xx for one recipient counts as a permanent bounce — suppression,
 * counters, evaluation and pause, exactly like an SES bounce. The message's own record is the sender's to write
 * (it records `rejectedRecipients` with SENT). Returns undefined for a non-5xx code (not a bounce).
 */
export async function recordRelayRejection(
  rejection: RelayRejection & { readonly tenantId: string },
  deps: ReputationGuardDeps,
): Promise<GuardOutcome | undefined> {
  const event = relayRejectionFeedback(rejection);
  if (!event) return undefined;
  return guardTenant(rejection.tenantId, event, deps);
}
