import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { DynamoTenantStore } from '../lambdas/adapters/tenant-store';
import { paceRules } from '../lambdas/domain/rate-limit/rate-limits';
import { PROVIDER_PRESETS } from '../lambdas/domain/smtp/provider-presets';
import { startSecretsManagerEmulator } from '../local/secrets/secrets-manager-emulator';
import { selfSignedRelayCertificate, startSmtpRelay } from '../local/smtp/smtp-relay';
import { busiestSpan } from '../test/support/busiest-span';
import type { BenchStack } from './bench-stack';
import type { BenchSenderModule } from './load-bench-sender';
import { queueOf } from './sender-throughput.bench';
import { fmt, markdownTable, median } from './stats';

export interface RelayRateOptions {
  readonly emails: number;
  /** Event source mapping concurrency of the bulk lane. */
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export interface RelayRateResult extends RelayRateOptions {
  /** The preset's messages a minute (Microsoft 365: 30). */
  readonly limitPerMinute: number;
  /** How far apart the governor spaces the sends (the per-minute rule's interval, its allowance included). */
  readonly spacingSeconds: number;
  /** Messages the relay accepted. */
  readonly received: number;
  /** From the relay's first to its last acceptance. */
  readonly sendingSeconds: number;
  readonly receivedPerMinute: number;
  /** Most acceptances in any 60-second span (sliding, half-open), as Exchange Online counts its minute. */
  readonly maxInAnyMinute: number;
  /** Most acceptances in any clock-aligned minute, the window the rolling one must not be mistaken for. */
  readonly maxInAClockMinute: number;
  /** SMTP sessions (TCP connections) the relay accepted, and AUTH exchanges in them. */
  readonly sessions: number;
  readonly authentications: number;
  /** Emails re-enqueued with a delay (DEFERRED): one SendMessageBatch per deferral. */
  readonly deferrals: number;
  /** Seconds between consecutive acceptances: the median and the longest. */
  readonly medianGapSeconds: number;
  readonly longestGapSeconds: number;
  /** Seconds lost to gaps longer than the governor's spacing: the sum of each gap's excess. */
  readonly idleSeconds: number;
  /** The part of `idleSeconds` in gaps that start in the run's first minute (the start of the backlog). */
  readonly idleInFirstMinuteSeconds: number;
  /** The shortest time in which `limit + 1` consecutive acceptances happened (< 60 s is one over the limit). */
  readonly shortestSpanOfLimitPlusOne: number;
  readonly timedOut: boolean;
}

const PROVIDER = 'microsoft-365';
const RELAY_USER = 'bench-relay-user';

/**
 * Relay rate at the Microsoft 365 preset: `emails` bulk emails (a bill run) queued at once for a tenant on the
 * external-smtp method, sent by the bundled sender through the production relay transport (its password read from
 * the Secrets Manager emulator) to the local STARTTLS relay, the bulk lane polled at `concurrency`. Reported from
 * the relay's side, its acceptance times: the sustained rate, the busiest rolling minute, sessions per email, and
 * how often the sender deferred (re-enqueued with a delay) instead of sending.
 */
export async function benchRelayRate(
  stack: BenchStack,
  bench: BenchSenderModule,
  options: RelayRateOptions,
): Promise<RelayRateResult> {
  const { limits } = PROVIDER_PRESETS[PROVIDER];
  const limitPerMinute = limits.messagesPerMinute ?? 0;
  const spacingSeconds =
    (paceRules(limits).find((rule) => rule.id === 'minute.messages')?.intervalMs ?? 0) / 1000;
  const run = Date.now().toString(36);
  const tenantId = `bench-relay-${run}`;
  const secretRef = `tenant-mail/dev/tenants/${tenantId}/smtp`;
  const password = `bench-${run}`;
  // The sender's environment names the scope's SES resources: provisioned with the SES emulator, as in production
  // the stack has them whatever method a tenant uses. A relay send never calls SES.
  const ses = await stack.startSes(14);
  const secretsFolder = await mkdtemp(join(tmpdir(), 'tenant-mail-bench-secrets-'));
  const secretsManager = await startSecretsManagerEmulator({ folder: secretsFolder });
  const certificate = await selfSignedRelayCertificate();
  const relay = await startSmtpRelay({ users: { [RELAY_USER]: password }, certificate });
  const sender = bench.benchSender({
    dynamodbEndpoint: stack.dynamodbEndpoint,
    sqsEndpoint: stack.sqsEndpoint,
    sesEndpoint: ses.ses.url,
    environment: stack.senderEnvironment(),
    relay: { secretsManagerEndpoint: secretsManager.url, trustedCertificates: [certificate.cert] },
  });
  try {
    await secretsManager.store.put(secretRef, password);
    await new DynamoTenantStore(sender.documents, { tableName: sender.config.tables.tenants }).put({
      tenantId,
      displayName: 'Bench Relay',
      profileEmail: 'billing@bench-relay.example',
      environments: {
        'developer-sandbox': {
          method: 'external-smtp',
          smtp: {
            host: relay.host,
            port: relay.port,
            security: 'starttls',
            auth: { type: 'password', username: RELAY_USER, secretRef },
            from: 'billing@bench-relay.example',
            provider: PROVIDER,
          },
        },
      },
    });
    const queue = queueOf(stack, sender.config.bulkSendQueueUrl);
    await sender.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.queueUrl }));
    await bench.publishEmails(sender.sqs, queue.queueUrl, options.emails, (index) => ({
      tenantId,
      environment: 'developer-sandbox',
      category: 'bulk',
      to: [`customer-${index}@bench-relay-customers.example`],
      subject: `Bill run completed: statement ${index}`,
      text: `Your statement ${index} is ready.`,
      idempotencyKey: `relay-${run}-${index}`,
    }));
    sender.counter.reset();
    const { timedOut } = await bench.pollUntil(sender.sqs, sender.handler, {
      ...queue,
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      done: () => relay.messages.length >= options.emails,
    });
    if (timedOut) await sender.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.queueUrl }));
    const times = relay.messages.map((message) => message.receivedAt).sort((a, b) => a - b);
    const first = times[0] ?? 0;
    const sendingSeconds = ((times.at(-1) ?? 0) - first) / 1000;
    const gaps = times.slice(1).map((at, index) => (at - (times[index] ?? at)) / 1000);
    const clockMinutes = new Map<number, number>();
    for (const at of times) {
      const minute = Math.floor(at / 60_000);
      clockMinutes.set(minute, (clockMinutes.get(minute) ?? 0) + 1);
    }
    return {
      ...options,
      limitPerMinute,
      spacingSeconds,
      received: times.length,
      sendingSeconds,
      // n acceptances span n-1 intervals.
      receivedPerMinute: times.length > 1 ? ((times.length - 1) * 60) / sendingSeconds : Number.NaN,
      maxInAnyMinute: busiestSpan(
        times.map((at) => ({ at, amount: 1 })),
        60_000,
      ),
      maxInAClockMinute: Math.max(0, ...clockMinutes.values()),
      sessions: relay.sessions,
      authentications: relay.authAttempts.length,
      deferrals: sender.counter.total('sqs', (operation) => operation === 'SendMessageBatch'),
      medianGapSeconds: median(gaps),
      longestGapSeconds: Math.max(0, ...gaps),
      idleSeconds: gaps.reduce((sum, gap) => sum + Math.max(0, gap - spacingSeconds), 0),
      idleInFirstMinuteSeconds: gaps.reduce(
        (sum, gap, index) =>
          sum + ((times[index] ?? first) - first < 60_000 ? Math.max(0, gap - spacingSeconds) : 0),
        0,
      ),
      shortestSpanOfLimitPlusOne:
        Math.min(
          ...times.slice(limitPerMinute).map((at, index) => at - (times[index] ?? Number.NEGATIVE_INFINITY)),
        ) / 1000,
      timedOut,
    };
  } finally {
    sender.destroy();
    await relay.close();
    await secretsManager.stop();
    await rm(secretsFolder, { recursive: true, force: true });
    await ses.stop();
  }
}

/** The markdown section of this benchmark. */
export function relayRateReport(result: RelayRateResult): string {
  return markdownTable(
    [
      'emails',
      'limit',
      'concurrency',
      'spacing (s)',
      'relay accepted',
      'first → last (s)',
      'per minute',
      '% of the limit',
      'max in any 60 s',
      'max in a clock minute',
      `shortest span of ${result.limitPerMinute + 1} (s)`,
      'median / longest gap (s)',
      'idle (s): all / first minute',
      'SMTP sessions',
      'per email',
      'AUTH',
      'DEFERRED (re-enqueued)',
    ],
    [
      [
        fmt(result.emails),
        `${result.limitPerMinute}/min (${PROVIDER})`,
        result.concurrency,
        fmt(result.spacingSeconds, 3),
        `${fmt(result.received)}${result.timedOut ? ' (timed out)' : ''}`,
        fmt(result.sendingSeconds, 1),
        fmt(result.receivedPerMinute, 2),
        `${fmt((100 * result.receivedPerMinute) / result.limitPerMinute, 1)} %`,
        result.maxInAnyMinute,
        result.maxInAClockMinute,
        fmt(result.shortestSpanOfLimitPlusOne, 2),
        `${fmt(result.medianGapSeconds, 2)} / ${fmt(result.longestGapSeconds, 2)}`,
        `${fmt(result.idleSeconds, 1)} / ${fmt(result.idleInFirstMinuteSeconds, 1)}`,
        fmt(result.sessions),
        fmt(result.sessions / Math.max(1, result.received), 3),
        fmt(result.authentications),
        fmt(result.deferrals),
      ],
    ],
  );
}
