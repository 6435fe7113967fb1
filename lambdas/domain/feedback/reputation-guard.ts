import { PermanentError } from '../errors';
import { type FeedbackEvent, isAccountSuppressionBounce, normalizeAddress } from './feedback-event';

/** SES reviews an account at these rates (bounce 5 %, complaint 0.1 %); our pause levels must sit below them. */
export const SES_REVIEW_BOUNCE_RATE = 0.05;
export const SES_REVIEW_COMPLAINT_RATE = 0.001;

export interface ReputationConfig {
  readonly warnBounceRate: number;
  readonly pauseBounceRate: number;
  readonly warnComplaintRate: number;
  readonly pauseComplaintRate: number;
  /** Sends a window needs before its observed rates are taken at face value. */
  readonly minimumSends: number;
  /** Length of the rolling window, in hours. */
  readonly windowHours: number;
}

/**
 * Defaults sit well below SES's review levels because SES judges the whole account: every tenant shares it, so
 * one tenant must be stopped while the account as a whole is still healthy, and the feedback that raises a
 * rate arrives minutes to days after the send (the mail already in flight keeps adding to it after a pause).
 * - warn at 2.5 % bounces / 0.05 % complaints (half of SES's review levels): metric and alarm only;
 * - pause at 4 % / 0.08 %: the tenant's mail is held until an operator resumes it;
 * - over a rolling 7 days (168 h): billing mail is bursty (a bill run, then little), and a week keeps a bill
 *   run and its late feedback in the same window;
 * - minimum sample 2,000 sends: at that volume one complaint is 0.05 % (a warning, not a pause), and a
 *   handful of bounces cannot pause a small tenant by chance.
 */
export const DEFAULT_REPUTATION_CONFIG: ReputationConfig = {
  warnBounceRate: 0.025,
  pauseBounceRate: 0.04,
  warnComplaintRate: 0.0005,
  pauseComplaintRate: 0.0008,
  minimumSends: 2_000,
  windowHours: 168,
};

export class InvalidReputationConfigError extends PermanentError {
  constructor(message: string) {
    super('INVALID_REPUTATION_CONFIG', message);
    this.name = 'InvalidReputationConfigError';
  }
}

function checkLevels(name: string, warn: number, pause: number, sesLevel: number): void {
  for (const [label, value] of [
    [`warn${name}Rate`, warn],
    [`pause${name}Rate`, pause],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new InvalidReputationConfigError(`${label} must be a rate above 0, got ${String(value)}`);
    }
  }
  if (!(warn < pause)) {
    throw new InvalidReputationConfigError(
      `warn${name}Rate (${warn}) must be below pause${name}Rate (${pause})`,
    );
  }
  if (!(pause < sesLevel)) {
    throw new InvalidReputationConfigError(
      `pause${name}Rate (${pause}) must be below SES's review level of ${sesLevel} so a tenant is paused before the account is reviewed`,
    );
  }
}

/**
 * Merges overrides onto `DEFAULT_REPUTATION_CONFIG` and validates: 0 < warn < pause < SES review level for both
 * rates, and positive whole numbers for the minimum sample and the window.
 * @throws InvalidReputationConfigError naming the offending setting.
 */
export function reputationConfig(overrides: Partial<ReputationConfig> = {}): ReputationConfig {
  const config = { ...DEFAULT_REPUTATION_CONFIG, ...overrides };
  checkLevels('Bounce', config.warnBounceRate, config.pauseBounceRate, SES_REVIEW_BOUNCE_RATE);
  checkLevels('Complaint', config.warnComplaintRate, config.pauseComplaintRate, SES_REVIEW_COMPLAINT_RATE);
  for (const key of ['minimumSends', 'windowHours'] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) {
      throw new InvalidReputationConfigError(
        `${key} must be a positive whole number, got ${String(config[key])}`,
      );
    }
  }
  return config;
}

/** Counts over a tenant's window. */
export interface ReputationCounters {
  readonly sends: number;
  readonly bounces: number;
  readonly complaints: number;
}

export type ReputationLevel = 'ok' | 'warn' | 'pause';

export interface ReputationEvaluation extends ReputationCounters {
  readonly level: ReputationLevel;
  /** Observed rates (bounces or complaints per send; 0 without sends). */
  readonly bounceRate: number;
  readonly complaintRate: number;
  /** Rates the thresholds were compared with: counts over max(sends, minimumSends). */
  readonly assessedBounceRate: number;
  readonly assessedComplaintRate: number;
  /** Whether the window held at least `minimumSends` sends. */
  readonly sampleSufficient: boolean;
  /** One sentence an operator can act on. */
  readonly reason: string;
}

function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(3))} %`;
}

function levelFor(rate: number, warn: number, pause: number): ReputationLevel {
  if (rate >= pause) return 'pause';
  if (rate >= warn) return 'warn';
  return 'ok';
}

const SEVERITY: Readonly<Record<ReputationLevel, number>> = { ok: 0, warn: 1, pause: 2 };

/**
 * Evaluates a tenant's window. Below the minimum sample the counts are divided by `minimumSends` instead of the
 * actual sends: that is the lowest the rate could be once the sample is complete, so a small tenant is never
 * paused by chance, yet one whose bounces alone already exceed the pause level at full sample (e.g. 80 hard
 * bounces out of 300 sends) is paused without waiting for 2,000 sends.
 */
export function evaluate(
  counters: ReputationCounters,
  config: ReputationConfig = DEFAULT_REPUTATION_CONFIG,
): ReputationEvaluation {
  const { sends, bounces, complaints } = counters;
  const denominator = Math.max(sends, config.minimumSends);
  const assessedBounceRate = bounces / denominator;
  const assessedComplaintRate = complaints / denominator;
  const bounceLevel = levelFor(assessedBounceRate, config.warnBounceRate, config.pauseBounceRate);
  const complaintLevel = levelFor(assessedComplaintRate, config.warnComplaintRate, config.pauseComplaintRate);
  const level = SEVERITY[bounceLevel] >= SEVERITY[complaintLevel] ? bounceLevel : complaintLevel;
  const sampleSufficient = sends >= config.minimumSends;
  const basis = sampleSufficient
    ? `of ${sends} sends`
    : `assessed against the minimum sample of ${config.minimumSends} (${sends} sends so far)`;
  const parts: string[] = [];
  if (bounceLevel !== 'ok') {
    const limit = bounceLevel === 'pause' ? config.pauseBounceRate : config.warnBounceRate;
    parts.push(
      `bounce rate ${percent(assessedBounceRate)} (${bounces} ${basis}) reached ${bounceLevel} level ${percent(limit)}`,
    );
  }
  if (complaintLevel !== 'ok') {
    const limit = complaintLevel === 'pause' ? config.pauseComplaintRate : config.warnComplaintRate;
    parts.push(
      `complaint rate ${percent(assessedComplaintRate)} (${complaints} ${basis}) reached ${complaintLevel} level ${percent(limit)}`,
    );
  }
  const reason =
    parts.length > 0
      ? parts.join('; ')
      : `bounce rate ${percent(assessedBounceRate)} and complaint rate ${percent(assessedComplaintRate)} ${basis} are below the warn levels`;
  return {
    level,
    sends,
    bounces,
    complaints,
    bounceRate: sends > 0 ? bounces / sends : 0,
    complaintRate: sends > 0 ? complaints / sends : 0,
    assessedBounceRate,
    assessedComplaintRate,
    sampleSufficient,
    reason,
  };
}

/** What one fact adds to a tenant's counters; `eventKey` makes the addition happen at most once. */
export interface ReputationDelta {
  readonly eventKey: string;
  /** ISO-8601 event time: picks the time bucket. */
  readonly at: string;
  readonly sends: number;
  readonly bounces: number;
  readonly complaints: number;
}

/**
 * The counter changes a feedback event implies, per recipient (SES computes its rates per recipient too): a
 * permanent bounce (including a relay's 5xx) adds a bounce; a complaint adds a complaint. Transient and
 * undetermined bounces do not count, nor do bounces and complaints SES reports for addresses on its account
 * suppression list (SES excludes those from its own rates), nor not-spam reports. Sends are not counted from
 * events: the sender counts them when the provider accepts (`countedSends`), for SES and relay alike.
 */
export function reputationDeltas(event: FeedbackEvent): ReputationDelta[] {
  const deltas: ReputationDelta[] = [];
  for (const fact of event.recipients) {
    let delta: Pick<ReputationDelta, 'sends' | 'bounces' | 'complaints'> | undefined;
    if (fact.eventType === 'Bounce' && fact.bounceType === 'Permanent' && !isAccountSuppressionBounce(fact)) {
      delta = { sends: 0, bounces: 1, complaints: 0 };
    } else if (
      fact.eventType === 'Complaint' &&
      fact.complaintFeedbackType !== 'not-spam' &&
      fact.complaintSubType !== 'OnAccountSuppressionList'
    ) {
      delta = { sends: 0, bounces: 0, complaints: 1 };
    }
    if (delta) deltas.push({ eventKey: fact.eventKey, at: fact.occurredAt, ...delta });
  }
  return deltas;
}

const SIMULATOR_DOMAIN = '@simulator.amazonses.com';

/** True for an address of the SES mailbox simulator (with or without a `+label`). */
export function isSimulatorAddress(address: string): boolean {
  return address.toLowerCase().endsWith(SIMULATOR_DOMAIN);
}

/**
 * How many sends an email the provider accepted adds to its tenant's counters: one per recipient (SES counts its
 * rates per recipient), leaving out the SES mailbox simulator unless told to count it (SES does not count it
 * toward the account's rates, and a self-test must not move a tenant's).
 */
export function countedSends(recipients: readonly string[], countSimulator: boolean): number {
  const unique = new Set(recipients.map(normalizeAddress));
  return [...unique].filter((address) => countSimulator || !isSimulatorAddress(address)).length;
}

/** Port for per-tenant reputation counters; `lambdas/adapters/reputation-store.ts` implements it. */
export interface ReputationStore {
  /** Adds each delta at most once (by event key); returns how many were newly counted. */
  record(tenantId: string, deltas: readonly ReputationDelta[]): Promise<{ counted: number }>;
  /**
   * Adds `count` sends to the bucket of `at`. Not keyed by event: the sender calls it once per email, after its
   * SENT is recorded (which the claim makes happen once); a crash in between loses the count, which errs
   * toward a higher rate, never a lower one.
   */
  addSends(tenantId: string, at: string, count: number): Promise<void>;
  /** Sums the counters of the `windowHours` ending at `now`. */
  readWindow(tenantId: string, now: Date, windowHours: number): Promise<ReputationCounters>;
}
