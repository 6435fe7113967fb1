import { normalizeAddress } from '../../../lambdas/domain/feedback/feedback-event';
import type { IdentityStatusView } from '../../../lambdas/domain/identity/identity';
import {
  assertTransition,
  type ClaimInput,
  type ClaimResult,
  type FromStatus,
  isAllowed,
  type LaneMessage,
  type Lease,
  LeaseLostError,
  type OutcomeDetail,
  MessageStatus as S,
  type SentDetail,
} from '../../../lambdas/domain/message';
import type {
  RateLimits,
  Reservation,
  ReservationRequest,
} from '../../../lambdas/domain/rate-limit/rate-limits';
import type { SendingMethod } from '../../../lambdas/domain/scope';
import type {
  EmailSender,
  OutgoingEmail,
  RejectedRecipient,
  SendOptions,
  SendResult,
} from '../../../lambdas/domain/sending/ports';
import type { SendEmailDeps, SendEmailSettings } from '../../../lambdas/domain/sending/send-email';
import { type Tenant, tenantSchema } from '../../../lambdas/domain/tenant';

/**
 * The sender's ports in memory, with the semantics of the DynamoDB adapters that matter to `sendEmail`: the
 * ledger's writes are conditional on the transition table and on the claim's lease token (a write the table or
 * the lease does not allow throws, as `DynamoMessageLedger` does), lanes accept or refuse a publish, the governor
 * answers what it is told to. Every call is logged in order so a test can assert the exact writes.
 */

export class FakeClock {
  constructor(private ms = Date.parse('2026-12-01T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface MemoryRecord {
  status: S;
  claim?: ClaimInput;
  attempts: number;
  leaseToken?: string;
  leaseUntil?: number;
  /** Set by the dispatcher when it keeps the lane body beside a QUEUED job (the sender never sets it). */
  requestKept: boolean;
  outcome?: OutcomeDetail;
  sent?: SentDetail;
  /** Noted by `recordAccepted`. */
  acceptedAs?: string;
  invalid?: OutcomeDetail & { readonly tenantId?: string; readonly body: string };
}

type LedgerOp = 'recordSent' | 'recordAccepted' | 'settle' | 'keepRequest' | 'claim' | 'recordInvalid';
export type LedgerCall = readonly [LedgerOp, ...unknown[]];

type SenderLedger = SendEmailDeps['ledger'];

export class MemoryLedger implements SenderLedger {
  readonly records = new Map<string, MemoryRecord>();
  /** Kept send-lane bodies by message id. */
  readonly requests = new Map<string, string>();
  /** Every call in order, with its arguments (lease tokens included). */
  readonly calls: LedgerCall[] = [];
  /** Errors the next calls of an operation throw before touching the record (the table failing). */
  readonly faults: Partial<Record<LedgerOp, unknown[]>> = {};
  private leases = 0;

  constructor(
    private readonly clock: FakeClock,
    private readonly leaseMs = 120_000,
    /** A message id with no record is claimed as the dispatcher's QUEUED record with its kept request. */
    private readonly dispatched = false,
  ) {}

  /** A record as another writer left it (the dispatcher, an earlier attempt, feedback). */
  seed(messageId: string, record: Partial<MemoryRecord> & { status: S }): void {
    this.records.set(messageId, { attempts: 0, requestKept: false, ...record });
  }

  /** Feedback applied to a record the sender has not recorded yet (its lease stays, as in the adapter). */
  applyFeedback(messageId: string, status: S): void {
    const record = this.mustGet(messageId);
    assertTransition(messageId, record.status, status, 'feedback');
    record.status = status;
  }

  async claim(input: ClaimInput): Promise<ClaimResult> {
    this.log('claim', input.messageId);
    const now = this.clock.now().getTime();
    const existing =
      this.records.get(input.messageId) ??
      (this.dispatched ? { status: S.QUEUED, attempts: 0, requestKept: true } : undefined);
    const from: FromStatus = existing?.status ?? null;
    const expired = from === S.SENDING && (existing?.leaseUntil ?? 0) < now;
    if (existing && (!isAllowed(from, S.SENDING, 'sender') || (from === S.SENDING && !expired))) {
      return { claimed: false, status: existing.status };
    }
    this.leases += 1;
    const lease: Lease = { token: `lease-${this.leases}`, until: now + this.leaseMs };
    const record: MemoryRecord = {
      ...(existing ?? { attempts: 0, requestKept: false }),
      status: S.SENDING,
      claim: input,
      attempts: (existing?.attempts ?? 0) + 1,
      leaseToken: lease.token,
      leaseUntil: lease.until,
    };
    this.records.set(input.messageId, record);
    return {
      claimed: true,
      attempt: record.attempts,
      lease,
      previous: existing?.status ?? null,
      requestKept: record.requestKept,
    };
  }

  async settle(messageId: string, lease: Lease, status: S, detail: OutcomeDetail): Promise<void> {
    this.log('settle', messageId, status, detail);
    assertTransition(messageId, S.SENDING, status, 'sender');
    const record = this.heldBy(messageId, lease);
    record.status = status;
    record.outcome = detail;
    if (detail.requestKept) record.requestKept = true;
    delete record.leaseToken;
    delete record.leaseUntil;
  }

  async recordSent(messageId: string, lease: Lease, detail: SentDetail): Promise<'recorded' | 'merged'> {
    this.log('recordSent', messageId, detail);
    const record = this.records.get(messageId);
    if (!record || record.leaseToken !== lease.token) throw new LeaseLostError(messageId, record?.status);
    record.sent = detail;
    if (record.status === S.SENDING) {
      record.status = S.SENT;
      delete record.leaseToken;
      delete record.leaseUntil;
      return 'recorded';
    }
    assertTransition(messageId, record.status, record.status, 'sender');
    return 'merged';
  }

  async recordAccepted(messageId: string, lease: Lease, providerMessageId: string): Promise<void> {
    this.log('recordAccepted', messageId, providerMessageId);
    this.heldBy(messageId, lease).acceptedAs = providerMessageId;
  }

  async recordInvalid(
    messageId: string,
    detail: OutcomeDetail & { readonly tenantId?: string; readonly body: string },
  ): Promise<void> {
    this.log('recordInvalid', messageId, detail);
    const existing = this.records.get(messageId);
    // The adapter's condition: a new record, or one already REJECTED (a copy of the same body).
    if (existing && existing.status !== S.REJECTED) return;
    this.records.set(messageId, { attempts: 0, requestKept: false, status: S.REJECTED, invalid: detail });
  }

  async keepRequest(messageId: string, body: string): Promise<void> {
    this.log('keepRequest', messageId, body);
    this.requests.set(messageId, body);
  }

  mustGet(messageId: string): MemoryRecord {
    const record = this.records.get(messageId);
    if (!record) throw new Error(`no record ${messageId}`);
    return record;
  }

  private heldBy(messageId: string, lease: Lease): MemoryRecord {
    const record = this.records.get(messageId);
    if (!record || record.status !== S.SENDING || record.leaseToken !== lease.token) {
      throw new LeaseLostError(messageId, record?.status);
    }
    return record;
  }

  private log(op: LedgerOp, ...args: unknown[]): void {
    this.calls.push([op, ...args]);
    const fault = this.faults[op]?.shift();
    if (fault !== undefined) throw fault;
  }
}

/** A transport that books its slot the way the SES and SMTP senders do (`pace` once the message is composed). */
export class FakeSender implements EmailSender {
  readonly calls: { email: OutgoingEmail; options: SendOptions | undefined; paced?: number | undefined }[] =
    [];
  /** What the provider does once the slot is booked; by default it accepts. */
  provider: (email: OutgoingEmail) => Promise<SendResult> = async () => ({
    providerMessageId: `provider-${this.calls.length}`,
  });

  async send(email: OutgoingEmail, options?: SendOptions): Promise<SendResult> {
    const call: (typeof this.calls)[number] = { email, options };
    this.calls.push(call);
    call.paced = await options?.pace?.();
    return this.provider(email);
  }
}

export class FakeGovernor {
  readonly requests: ReservationRequest[] = [];
  answer: Reservation = { granted: true, sendAtMs: Date.parse('2026-12-01T12:00:00.250Z') };
  /** Answers given first, one per request, before `answer`. */
  readonly answers: Reservation[] = [];
  async reserve(request: ReservationRequest): Promise<Reservation> {
    this.requests.push(request);
    return this.answers.shift() ?? this.answer;
  }
}

export const DEV_SETTINGS: SendEmailSettings = {
  scope: 'dev',
  servedEnvironments: ['developer-sandbox', 'central-sandbox'],
  platformFromAddress: 'notifications@mail.platform.example',
  maxReceiveCount: 5,
  recordRetryDelaysMs: [0, 0, 0],
};

/** Tenants of the dev scope, one per sending method, and a paused one. */
export const TENANTS = {
  acme: {
    tenantId: 'acme',
    displayName: 'Acme Billing',
    profileEmail: 'billing@acme.example',
    environments: { 'developer-sandbox': { method: 'default' } },
  },
  relayco: {
    tenantId: 'relayco',
    displayName: 'Relay Co',
    profileEmail: 'office@relayco.example',
    environments: {
      'developer-sandbox': {
        method: 'external-smtp',
        smtp: {
          host: 'smtp.office365.com',
          port: 587,
          security: 'starttls',
          auth: {
            type: 'password',
            username: 'billing@relayco.example',
            secretRef: 'tenant-mail/dev/tenants/relayco/smtp',
          },
          from: 'billing@relayco.example',
          provider: 'microsoft-365',
        },
      },
    },
  },
  advco: {
    tenantId: 'advco',
    displayName: 'Adv Co',
    profileEmail: 'office@advco.example',
    environments: {
      'developer-sandbox': {
        method: 'advanced',
        fromAddress: 'billing@advco.example',
        sesTenantName: 'advco-dev',
      },
    },
  },
  held: {
    tenantId: 'held',
    displayName: 'Held Ltd',
    profileEmail: 'office@held.example',
    environments: {
      'developer-sandbox': {
        method: 'default',
        paused: { reason: 'bounce rate 6.0 % over 24 h', at: '2026-12-01T11:00:00.000Z' },
      },
    },
  },
} as const;

export interface HarnessOptions {
  readonly tenants?: readonly unknown[];
  /** Methods with a transport; @default all three. */
  readonly methods?: readonly SendingMethod[];
  readonly sesLimits?: RateLimits;
  /** Normalised addresses on the tenant's suppression list. */
  readonly suppressed?: readonly string[];
  readonly identities?: readonly IdentityStatusView[];
  readonly settings?: Partial<SendEmailSettings>;
  /**
   * Whether a body without a record arrives as the dispatcher sends it (a QUEUED record with the kept request
   * already there), or off that path (a producer writing to the send queue itself: no record, nothing kept).
   * @default true
   */
  readonly dispatched?: boolean;
}

/** `sendEmail`'s dependencies in memory, and what each one saw. */
export function senderHarness(options: HarnessOptions = {}) {
  const clock = new FakeClock();
  const ledger = new MemoryLedger(clock, undefined, options.dispatched ?? true);
  const governor = new FakeGovernor();
  const senders = {
    default: new FakeSender(),
    'external-smtp': new FakeSender(),
    advanced: new FakeSender(),
  };
  const tenants = new Map<string, Tenant>(
    (options.tenants ?? Object.values(TENANTS)).map((input) => {
      const tenant = tenantSchema.parse(input);
      return [tenant.tenantId, tenant];
    }),
  );
  const published: { messages: LaneMessage[]; delaySeconds: number | undefined }[] = [];
  const lanes = { accept: true };
  const sendFeedback = {
    accepted: [] as unknown[][],
    rejected: [] as unknown[][],
    faults: [] as unknown[],
    flushes: 0,
  };
  const warnings: [string, Record<string, unknown>][] = [];
  const suppressionChecks: [string, readonly string[]][] = [];
  const identityReads: [string, unknown][] = [];
  const suppressed = new Set(options.suppressed ?? []);
  const methods = options.methods ?? (['default', 'external-smtp', 'advanced'] as const);
  const deps: SendEmailDeps = {
    ledger,
    tenants: { get: async (tenantId) => tenants.get(tenantId) },
    senders: Object.fromEntries(methods.map((method) => [method, senders[method]])),
    suppressions: {
      isSuppressed: async (tenantId, addresses) => {
        suppressionChecks.push([tenantId, addresses]);
        // Keyed by normalised address, as the suppression store answers.
        const found = addresses.map(normalizeAddress).filter((a) => suppressed.has(a));
        return new Map(found.map((a) => [a, { reason: 'BOUNCE' }]));
      },
    },
    identities: {
      list: async (tenantId, listOptions) => {
        identityReads.push([tenantId, listOptions]);
        return options.identities ?? [];
      },
    },
    governor,
    sesQuota: { limits: async () => options.sesLimits ?? { recipientsPerSecond: 14 } },
    sendFeedback: {
      accepted: async (...args) => {
        sendFeedback.accepted.push(args);
        const fault = sendFeedback.faults.shift();
        if (fault !== undefined) throw fault;
      },
      rejected: async (...args) => {
        sendFeedback.rejected.push(args);
      },
      flush: async () => {
        sendFeedback.flushes += 1;
      },
    },
    lanes: {
      publish: async (messages, publishOptions) => {
        published.push({ messages: [...messages], delaySeconds: publishOptions?.delaySeconds });
        return { sent: lanes.accept ? messages.map((m) => m.messageId) : [] };
      },
    },
    clock,
    settings: { ...DEV_SETTINGS, ...options.settings },
    warn: (message, detail) => warnings.push([message, detail]),
  };
  return {
    deps,
    clock,
    ledger,
    governor,
    senders,
    published,
    lanes,
    sendFeedback,
    warnings,
    suppressionChecks,
    identityReads,
  };
}

export type RejectedList = readonly RejectedRecipient[];
