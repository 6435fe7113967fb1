import { MessageStatus } from '../lambdas/domain/message/message-status';
import { fmt, markdownTable, median, percentile } from './stats';

/**
 * Where one receipt's publish-to-acceptance time went, from what the system records anyway: the publisher's
 * call time (the bench's clock), the message record's timeline (its QUEUED line is written when the dispatcher
 * creates the record, its SENDING line when a sender claims it) and the SES emulator's timestamp of the stored
 * message (acceptance).
 */
export interface ReceiptStages {
  /** When the receipt was published (epoch ms). */
  readonly publishedAtMs: number;
  /** Publish call → record created: the events queue, its poller and the dispatcher. */
  readonly publishToQueuedMs: number;
  /** Record created → the claim that sent it: the send lane, its poller, any deferral and the sender's start. */
  readonly queuedToClaimMs: number;
  /** That claim → SES acceptance: the sender's checks, its wait for a rate slot, the SendEmail call. */
  readonly claimToAcceptedMs: number;
  /** DEFERRED lines on the timeline (waits for rate capacity). */
  readonly deferrals: number;
}

/** The parts of a message record the stages are read from. */
export interface ReceiptRecord {
  readonly subject?: unknown;
  readonly sesMessageId?: unknown;
  readonly timeline?: unknown;
}

/**
 * The stages of each receipt that reached SES: `publishedAt` maps a payment number (as the receipt's subject
 * `Payment <number> received` carries it) to its publish time, `acceptedAt` an SES message id to its stored
 * timestamp (epoch ms). Records without either, or without QUEUED and SENDING lines, are left out.
 */
export function receiptStages(
  records: readonly ReceiptRecord[],
  publishedAt: ReadonlyMap<string, number>,
  acceptedAt: ReadonlyMap<string, number>,
): ReceiptStages[] {
  return records.flatMap((record) => {
    const payment = /Payment (\S+) received/.exec(String(record.subject ?? ''))?.[1] ?? '';
    const published = publishedAt.get(payment);
    const accepted = acceptedAt.get(String(record.sesMessageId ?? ''));
    const lines = (Array.isArray(record.timeline) ? record.timeline : []) as {
      status?: string;
      at?: string;
    }[];
    const timeOf = (status: string, pick: 'first' | 'last') => {
      const matching = lines.filter((line) => line.status === status);
      const line = pick === 'first' ? matching[0] : matching.at(-1);
      return line?.at === undefined ? undefined : Date.parse(line.at);
    };
    const queued = timeOf(MessageStatus.QUEUED, 'first');
    const claimed = timeOf(MessageStatus.SENDING, 'last');
    if (published === undefined || accepted === undefined || queued === undefined || claimed === undefined)
      return [];
    return [
      {
        publishedAtMs: published,
        publishToQueuedMs: queued - published,
        queuedToClaimMs: claimed - queued,
        claimToAcceptedMs: accepted - claimed,
        deferrals: lines.filter((line) => line.status === MessageStatus.DEFERRED).length,
      },
    ];
  });
}

/** p50 / p95 / max of each stage of `stages`, as a markdown table. */
export function receiptStagesReport(stages: readonly ReceiptStages[]): string {
  const row = (name: string, values: readonly number[]) => [
    name,
    fmt(median(values)),
    fmt(percentile(values, 95)),
    fmt(Math.max(...values)),
  ];
  const deferred = stages.filter((stage) => stage.deferrals > 0).length;
  return [
    markdownTable(
      ['stage (receipts published while the bill run drained)', 'p50 ms', 'p95 ms', 'max ms'],
      [
        row(
          'publish → record QUEUED (events queue, dispatcher)',
          stages.map((s) => s.publishToQueuedMs),
        ),
        row(
          'QUEUED → claim SENDING (send lane, sender start)',
          stages.map((s) => s.queuedToClaimMs),
        ),
        row(
          'claim → SES accepted (checks, rate slot, SendEmail)',
          stages.map((s) => s.claimToAcceptedMs),
        ),
      ],
    ),
    '',
    `${fmt(stages.length)} receipts traced; ${fmt(deferred)} of them deferred for rate capacity at least once.`,
  ].join('\n');
}
