import { MessageStatus } from '../lambdas/domain/message';
import type { SendingMethod } from '../lambdas/domain/scope';
import { laneMessage, sendRequestSchema } from '../lambdas/domain/sending/send-request';
import type { AdminContext } from './admin-context';
import { AdminInputError, AdminNotFoundError } from './admin-errors';

const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

/** What each mailbox-simulator address should end as when SES reports back (default and advanced methods). */
export const SELFTEST_EXPECTATIONS = {
  success: MessageStatus.DELIVERED,
  bounce: MessageStatus.BOUNCED,
  complaint: MessageStatus.COMPLAINED,
  ooto: MessageStatus.DELIVERED,
  suppressionlist: MessageStatus.SUPPRESSED,
} as const;

export type SimulatorMailbox = keyof typeof SELFTEST_EXPECTATIONS;

/** Statuses after which a self-test message will not change any more without an operator. */
const SETTLED: readonly string[] = [
  MessageStatus.REJECTED,
  MessageStatus.DEAD_LETTERED,
  MessageStatus.PAUSED,
];

export interface SelftestRow {
  readonly mailbox: SimulatorMailbox;
  readonly address: string;
  readonly messageId: string;
  readonly expected: string;
  readonly status: string;
  readonly detail: string;
  readonly ok: boolean;
}

export interface SelftestResult {
  readonly tenantId: string;
  readonly environment: string;
  readonly method: SendingMethod;
  readonly run: string;
  readonly passed: boolean;
  readonly results: readonly SelftestRow[];
}

export interface SelftestOptions {
  /** How long to wait for feedback. @default 180,000 ms */
  readonly timeoutMs?: number;
  /** Pause between two reads of the self-test records. @default 2,000 ms */
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called when the run is sent, and on every status change. */
  readonly onProgress?: (event: {
    readonly sent?: number;
    readonly run?: string;
    readonly row?: SelftestRow;
  }) => void;
}

/**
 * Sends one email to each SES mailbox-simulator address through the tenant's own method (via the send lanes,
 * as any email), then reads the records until each reached its expected status or the time is up. The
 * simulator's bounces and complaints do not count against a tenant's reputation at SES.
 */
export async function runSelftest(
  ctx: AdminContext,
  tenantId: string,
  env: string,
  options: SelftestOptions = {},
): Promise<SelftestResult> {
  const environment = ctx.environment(env);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeoutMs = options.timeoutMs ?? 180_000;
  const tenant = await ctx.tenantStore().get(tenantId);
  if (!tenant)
    throw new AdminNotFoundError('tenant', `tenant ${tenantId} not found in the ${ctx.scope} scope`);
  const settings = tenant.environments[environment];
  if (!settings?.enabled)
    throw new AdminInputError(
      `tenant ${tenantId} has no enabled settings for ${environment}`,
      'ENVIRONMENT_NOT_ENABLED',
    );
  // A relay reports only acceptance; its bounces and complaints never come back through SES events.
  const relay = settings.method === 'external-smtp';
  const run = `selftest-${ctx.now().getTime().toString(36)}`;
  const planned = (Object.entries(SELFTEST_EXPECTATIONS) as [SimulatorMailbox, string][]).map(
    ([mailbox, status]) => {
      const request = sendRequestSchema.parse({
        tenantId,
        environment,
        to: [`${mailbox}+${run}@${SIMULATOR_DOMAIN}`],
        subject: `tenant-mail self-test: ${mailbox}`,
        text: `Self-test message to the SES mailbox simulator (${mailbox}), run ${run}.`,
      });
      const lane = laneMessage(request, `${run}:${mailbox}`);
      const row: SelftestRow = {
        mailbox,
        address: request.to[0] ?? '',
        messageId: lane.messageId,
        expected: relay ? MessageStatus.SENT : status,
        status: 'QUEUED',
        detail: '',
        ok: false,
      };
      return { row, lane };
    },
  );
  const { sent } = await (await ctx.lanes()).publish(planned.map((p) => p.lane));
  if (sent.length < planned.length) throw new Error('the send queue refused some self-test messages');
  let rows = planned.map((p) => p.row);
  options.onProgress?.({ sent: rows.length, run });
  const ledger = ctx.ledger();
  const deadline = ctx.now().getTime() + timeoutMs;
  for (;;) {
    rows = await Promise.all(
      rows.map(async (row) => {
        const record = await ledger.get(row.messageId);
        const status = record?.status ?? 'QUEUED';
        const next = { ...row, status, detail: record?.reason ?? '', ok: status === row.expected };
        if (status !== row.status) options.onProgress?.({ row: next });
        return next;
      }),
    );
    const settled = rows.every((row) => row.ok || SETTLED.includes(row.status));
    if (settled || ctx.now().getTime() >= deadline) break;
    await sleep(options.pollIntervalMs ?? 2_000);
  }
  return {
    tenantId,
    environment,
    method: settings.method,
    run,
    passed: rows.every((row) => row.ok),
    results: rows,
  };
}
