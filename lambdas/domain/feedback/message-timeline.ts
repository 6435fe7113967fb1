import { isAccepted, MessageStatus } from '../message/message-status';
import { type FeedbackEvent, isAccountSuppressionBounce, type RecipientFeedback } from './feedback-event';

/** Statuses SES feedback can give one recipient of a sent message. */
export type RecipientStatus = Extract<
  MessageStatus,
  'SENT' | 'DELIVERED' | 'REJECTED' | 'SUPPRESSED' | 'BOUNCED' | 'COMPLAINED'
>;

/**
 * Severity of a recipient outcome. Feedback arrives at least once and in any order, so a recipient's status is
 * the most severe outcome reported for it, never the latest to arrive: a Bounce after a Delivery is kept, a
 * Complaint beats a Delivery, and a late Send cannot undo anything. REJECTED (SES refused the content) and
 * SUPPRESSED (SES skipped an address on its account suppression list) mean SES never tried that recipient;
 * BOUNCED and COMPLAINED are stronger facts about the mailbox itself.
 */
export const RECIPIENT_STATUS_RANK: Readonly<Record<RecipientStatus, number>> = {
  SENT: 1,
  DELIVERED: 2,
  REJECTED: 3,
  SUPPRESSED: 4,
  BOUNCED: 5,
  COMPLAINED: 6,
};

export interface RecipientState {
  readonly status: RecipientStatus;
  /** Time of the event that established the status. */
  readonly at: string;
  /** The event that established it; only breaks ties between two events of the same status and time. */
  readonly eventKey?: string;
}

export interface TimelineEntry {
  readonly eventKey: string;
  readonly eventType: RecipientFeedback['eventType'];
  readonly recipient: string;
  readonly at: string;
  /** The status this event implies for the recipient; absent for informational events (delay, open, click...). */
  readonly status?: RecipientStatus;
  readonly detail?: string;
}

/** The feedback part of a message record. */
export interface MessageFeedbackState {
  /**
   * The record's status: before any feedback, what the sender recorded (SENDING, or QUEUED/DEFERRED after a
   * crash, when the provider accepted but the sender could not say so); afterwards the aggregate (see
   * `aggregateStatus`).
   */
  readonly status: MessageStatus;
  /**
   * Whether the record already shows that the provider accepted the email (the sender recorded it, or earlier
   * feedback did). Until then any event proves it, and the message counts as SENT.
   */
  readonly accepted: boolean;
  /** Per-recipient outcome, keyed by normalised address. */
  readonly recipients: Readonly<Record<string, RecipientState>>;
  /** Every distinct event applied, ordered by time then event key. */
  readonly timeline: readonly TimelineEntry[];
}

export interface FeedbackApplication {
  readonly state: MessageFeedbackState;
  /** False when every fact in the event was already applied (a duplicate): nothing needs writing. */
  readonly changed: boolean;
  /** Timeline entries the event added. */
  readonly added: readonly TimelineEntry[];
}

/** A message's feedback state before any feedback: the status the sender recorded and nothing else. */
export function initialFeedbackState(status: MessageStatus): MessageFeedbackState {
  return { status, accepted: isAccepted(status), recipients: {}, timeline: [] };
}

/** The recipient status one fact implies, or undefined when it only belongs on the timeline. */
export function impliedStatus(fact: RecipientFeedback): RecipientStatus | undefined {
  switch (fact.eventType) {
    case 'Send':
      return MessageStatus.SENT;
    case 'Delivery':
      return MessageStatus.DELIVERED;
    case 'Bounce':
      return isAccountSuppressionBounce(fact) ? MessageStatus.SUPPRESSED : MessageStatus.BOUNCED;
    case 'Complaint':
      // A not-spam report retracts an earlier spam verdict; it is not a complaint about the message.
      if (fact.complaintFeedbackType === 'not-spam') return undefined;
      return fact.complaintSubType === 'OnAccountSuppressionList'
        ? MessageStatus.SUPPRESSED
        : MessageStatus.COMPLAINED;
    case 'Reject':
    case 'RenderingFailure':
      return MessageStatus.REJECTED;
    case 'DeliveryDelay':
    case 'Open':
    case 'Click':
    case 'Subscription':
      return undefined;
  }
}

/** Total order on candidate recipient states: more severe first, then earlier, then by event key. */
function outranks(candidate: RecipientState, current: RecipientState): boolean {
  const byRank = RECIPIENT_STATUS_RANK[candidate.status] - RECIPIENT_STATUS_RANK[current.status];
  if (byRank !== 0) return byRank > 0;
  if (candidate.at !== current.at) return candidate.at < current.at;
  return (candidate.eventKey ?? '') < (current.eventKey ?? '');
}

/**
 * Each recipient's status from the events applied so far: the most severe, then earliest, outcome any of them
 * reported (the rule `applyFeedback` keeps the map by, so the map can be rebuilt from the events alone).
 */
export function recipientStates(entries: readonly TimelineEntry[]): Record<string, RecipientState> {
  const recipients: Record<string, RecipientState> = {};
  for (const entry of entries) {
    if (!entry.status) continue;
    const candidate: RecipientState = { status: entry.status, at: entry.at, eventKey: entry.eventKey };
    const existing = recipients[entry.recipient];
    if (!existing || outranks(candidate, existing)) recipients[entry.recipient] = candidate;
  }
  return recipients;
}

/**
 * How several recipients aggregate into one message status: the most severe recipient outcome. One bounced
 * recipient out of three makes the message BOUNCED even if the others were delivered, because the status is
 * what an operator scans for problems; the per-recipient map keeps the full picture. Until feedback names any
 * recipient, the status the sender recorded stands.
 */
export function aggregateStatus(
  senderStatus: MessageStatus,
  recipients: Readonly<Record<string, RecipientState>>,
): MessageStatus {
  let worst: RecipientStatus | undefined;
  for (const state of Object.values(recipients)) {
    if (!worst || RECIPIENT_STATUS_RANK[state.status] > RECIPIENT_STATUS_RANK[worst]) worst = state.status;
  }
  return worst ?? senderStatus;
}

function byTimeThenKey(a: TimelineEntry, b: TimelineEntry): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return a.eventKey < b.eventKey ? -1 : a.eventKey > b.eventKey ? 1 : 0;
}

/**
 * Applies one feedback event to a message's feedback state. Pure, idempotent (a fact whose event key is already
 * on the timeline changes nothing) and order-independent (any arrival order of the same events gives the same
 * state): recipient statuses follow `RECIPIENT_STATUS_RANK`, and the timeline is kept sorted by event time.
 *
 * The sender's own status (`current.status` before any recipient feedback) is kept when `recipients` is empty,
 * so an informational event such as a DeliveryDelay never moves a message. A `Send` event says only that the
 * provider accepted the email: once the record shows that (`accepted`), it adds nothing and is not recorded —
 * so the common case, Send after the sender's SENT, writes nothing.
 */
export function applyFeedback(current: MessageFeedbackState, event: FeedbackEvent): FeedbackApplication {
  const known = new Set(current.timeline.map((entry) => entry.eventKey));
  const recipients: Record<string, RecipientState> = { ...current.recipients };
  const added: TimelineEntry[] = [];
  for (const fact of event.recipients) {
    if (known.has(fact.eventKey) || (fact.eventType === 'Send' && current.accepted)) continue;
    known.add(fact.eventKey);
    const status = impliedStatus(fact);
    added.push({
      eventKey: fact.eventKey,
      eventType: fact.eventType,
      recipient: fact.recipient,
      at: fact.occurredAt,
      ...(status ? { status } : {}),
      ...(fact.detail ? { detail: fact.detail } : {}),
    });
    if (!status) continue;
    const candidate: RecipientState = { status, at: fact.occurredAt, eventKey: fact.eventKey };
    const existing = recipients[fact.recipient];
    if (!existing || outranks(candidate, existing)) recipients[fact.recipient] = candidate;
  }
  if (added.length === 0) return { state: current, changed: false, added };
  return {
    state: {
      status: aggregateStatus(current.accepted ? current.status : MessageStatus.SENT, recipients),
      accepted: true,
      recipients,
      timeline: [...current.timeline, ...added].sort(byTimeThenKey),
    },
    changed: true,
    added,
  };
}
