import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoReputationStore } from '../../lambdas/adapters/reputation-store';
import { DynamoSuppressionStore } from '../../lambdas/adapters/suppression-store';
import { DynamoTenantPauseStore } from '../../lambdas/adapters/tenant-pause-store';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import { normalizeAddress } from '../../lambdas/domain/feedback/feedback-event';
import { DEFAULT_REPUTATION_CONFIG, evaluate } from '../../lambdas/domain/feedback/reputation-guard';
import { pauseTenant, resumeTenant } from '../../lambdas/domain/feedback/tenant-pause';
import { MessageStatus } from '../../lambdas/domain/message';
import { ENVIRONMENTS, type Environment } from '../../lambdas/domain/scope';
import { emailAddress } from '../../lambdas/domain/sending/mail-policy';
import { messageIdFor } from '../../lambdas/domain/sending/send-request';
import { UnknownTenantError } from '../../lambdas/domain/tenant';
import { type CliCommand, type CommandArgs, EXIT, requireOption, UsageError } from '../cli-command';
import { type CliContext, formatTable } from '../cli-context';

const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

/** What each mailbox-simulator address should end as when SES reports back (default and advanced methods). */
export const SELFTEST_EXPECTATIONS = {
  success: MessageStatus.DELIVERED,
  bounce: MessageStatus.BOUNCED,
  complaint: MessageStatus.COMPLAINED,
  ooto: MessageStatus.DELIVERED,
  suppressionlist: MessageStatus.SUPPRESSED,
} as const;

type SimulatorMailbox = keyof typeof SELFTEST_EXPECTATIONS;

/** Statuses after which a self-test message will not change any more without an operator. */
const STUCK: readonly string[] = [MessageStatus.REJECTED, MessageStatus.DEAD_LETTERED, MessageStatus.PAUSED];

export interface FeedbackCommandOptions {
  /** Pause between two reads of the self-test messages. @default 2000 ms */
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
}

const tenantStore = (ctx: CliContext) =>
  new DynamoTenantStore(ctx.documents, { tableName: ctx.tableName('tenants'), cacheTtlSeconds: 0 });
const suppressionStore = (ctx: CliContext) =>
  new DynamoSuppressionStore(ctx.documents, ctx.tableName('suppressions'));
const pauseStore = (ctx: CliContext) => new DynamoTenantPauseStore(ctx.documents, ctx.tableName('tenants'));

function positiveInteger(args: CommandArgs, name: string, fallback: number): number {
  const raw = args.values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a whole number ≥ 1`);
  return value;
}

function addressOption(args: CommandArgs): string {
  const address = requireOption(args, 'address');
  if (!emailAddress.safeParse(address).success)
    throw new UsageError(`--address ${address} is not an email address`);
  return normalizeAddress(address);
}

interface SelftestRow {
  readonly mailbox: SimulatorMailbox;
  readonly address: string;
  readonly messageId: string;
  readonly expected: string;
  status: string;
  detail: string;
  ok: boolean;
}

/** The operator commands of the feedback issue: suppression list, pause/resume, and the mailbox self-test. */
export function createFeedbackCommands(options: FeedbackCommandOptions = {}): CliCommand[] {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? (() => new Date());
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;

  return [
    {
      group: 'suppression',
      name: 'list',
      summary: "list a tenant's suppressed addresses (reason, source message, expiry)",
      usage: '--tenant T [--limit N] [--cursor C]',
      options: { tenant: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
      async run(ctx, args) {
        const tenantId = requireOption(args, 'tenant');
        const cursor = typeof args.values.cursor === 'string' ? args.values.cursor : undefined;
        const page = await suppressionStore(ctx).list(tenantId, {
          limit: positiveInteger(args, 'limit', 100),
          ...(cursor ? { cursor } : {}),
        });
        const rows = page.items.map((entry) => ({
          address: entry.address,
          reason: entry.reason,
          since: entry.createdAt,
          expires: entry.expiresAt ? new Date(entry.expiresAt * 1000).toISOString() : 'never',
          message: entry.sourceMessageId ?? '',
        }));
        ctx.out.result(page, () => {
          const table = formatTable(rows, ['address', 'reason', 'since', 'expires', 'message']);
          return page.cursor ? `${table}\nmore: --cursor ${page.cursor}` : table;
        });
        return EXIT.OK;
      },
    },
    {
      group: 'suppression',
      name: 'add',
      summary: "add an address to a tenant's suppression list (reason MANUAL, never expires)",
      usage: '--tenant T --address A [--note TEXT]',
      options: { tenant: { type: 'string' }, address: { type: 'string' }, note: { type: 'string' } },
      async run(ctx, args) {
        const tenantId = requireOption(args, 'tenant');
        const address = addressOption(args);
        const note = typeof args.values.note === 'string' ? args.values.note : undefined;
        const { stored } = await suppressionStore(ctx).put({
          tenantId,
          address,
          reason: 'MANUAL',
          createdAt: now().toISOString(),
          ...(note ? { detail: note } : {}),
        });
        ctx.out.result({ tenantId, address, stored }, () =>
          stored
            ? `suppressed ${address} for ${tenantId}`
            : `${address} was already suppressed for ${tenantId}`,
        );
        return EXIT.OK;
      },
    },
    {
      group: 'suppression',
      name: 'remove',
      summary: "remove an address from a tenant's suppression list",
      usage: '--tenant T --address A',
      options: { tenant: { type: 'string' }, address: { type: 'string' } },
      async run(ctx, args) {
        const tenantId = requireOption(args, 'tenant');
        const address = addressOption(args);
        await suppressionStore(ctx).remove(tenantId, address);
        ctx.out.result(
          { tenantId, address, removed: true },
          () => `${address} may be mailed again by ${tenantId}`,
        );
        return EXIT.OK;
      },
    },
    {
      group: 'tenant',
      name: 'pause',
      summary: "hold a tenant's mail as PAUSED in every environment until `tenant resume`",
      usage: '--tenant T --reason TEXT',
      options: { tenant: { type: 'string' }, reason: { type: 'string' } },
      async run(ctx, args) {
        const tenantId = requireOption(args, 'tenant');
        const reason = requireOption(args, 'reason');
        try {
          const result = await pauseTenant(tenantId, `operator: ${reason}`, {
            pauses: pauseStore(ctx),
            clock: { now },
          });
          ctx.out.result(result, () =>
            result.paused.length > 0
              ? `paused ${tenantId} in ${result.paused.join(', ')} (takes effect within 30 s)`
              : `${tenantId} was already paused everywhere; the first reason stands`,
          );
          return EXIT.OK;
        } catch (error) {
          if (!(error instanceof UnknownTenantError)) throw error;
          ctx.out.error(error.message);
          return EXIT.NOT_FOUND;
        }
      },
    },
    {
      group: 'tenant',
      name: 'resume',
      summary: 'resume a paused tenant and send the mail it held (its reputation window is shown)',
      usage: '--tenant T',
      options: { tenant: { type: 'string' } },
      async run(ctx, args) {
        const tenantId = requireOption(args, 'tenant');
        try {
          const result = await resumeTenant(tenantId, {
            pauses: pauseStore(ctx),
            ledger: ctx.ledger(),
            lanes: await ctx.lanes(),
          });
          const window = evaluate(
            await new DynamoReputationStore(ctx.documents, ctx.tableName('counters')).readWindow(
              tenantId,
              now(),
              DEFAULT_REPUTATION_CONFIG.windowHours,
            ),
          );
          ctx.out.result({ ...result, reputation: window }, () =>
            [
              result.resumed.length > 0
                ? `resumed ${tenantId} in ${result.resumed.join(', ')}`
                : `${tenantId} was not paused`,
              `released ${result.released} held message(s) to the send queues` +
                (result.skipped ? `; ${result.skipped} held without a request to resend` : ''),
              `reputation (default thresholds): ${window.level}: ${window.reason}`,
              ...(window.level === 'pause'
                ? [
                    'warning: the window is still above the pause level; the next bounce or complaint pauses again',
                  ]
                : []),
            ].join('\n'),
          );
          return EXIT.OK;
        } catch (error) {
          if (!(error instanceof UnknownTenantError)) throw error;
          ctx.out.error(error.message);
          return EXIT.NOT_FOUND;
        }
      },
    },
    {
      group: 'selftest',
      name: 'run',
      summary:
        "send to each SES mailbox-simulator address through the tenant's method and report what came back",
      usage: '--tenant T --env E [--timeout SECONDS]',
      options: { tenant: { type: 'string' }, env: { type: 'string' }, timeout: { type: 'string' } },
      async run(ctx, args) {
        const tenantId = requireOption(args, 'tenant');
        const environment = requireOption(args, 'env');
        if (!(ENVIRONMENTS as readonly string[]).includes(environment)) {
          throw new UsageError(`--env must be one of ${ENVIRONMENTS.join(', ')}`);
        }
        const timeoutMs = positiveInteger(args, 'timeout', 180) * 1000;
        const tenant = await tenantStore(ctx).get(tenantId);
        if (!tenant) {
          ctx.out.error(`tenant ${tenantId} not found in the ${ctx.scope} scope`);
          return EXIT.NOT_FOUND;
        }
        const settings = tenant.environments[environment as Environment];
        if (!settings?.enabled) {
          ctx.out.error(`tenant ${tenantId} has no enabled settings for ${environment}`);
          return EXIT.CHECK_FAILED;
        }
        // A relay reports only acceptance; its bounces and complaints never come back through SES events.
        const relay = settings.method === 'external-smtp';
        const run = `selftest-${now().getTime().toString(36)}`;
        const queueUrl = await ctx.queueUrl('send');
        const rows: SelftestRow[] = [];
        for (const [mailbox, status] of Object.entries(SELFTEST_EXPECTATIONS) as [
          SimulatorMailbox,
          string,
        ][]) {
          const address = `${mailbox}+${run}@${SIMULATOR_DOMAIN}`;
          const idempotencyKey = `${run}:${mailbox}`;
          await ctx.sqs.send(
            new SendMessageCommand({
              QueueUrl: queueUrl,
              MessageBody: JSON.stringify({
                tenantId,
                environment,
                to: [address],
                subject: `tenant-mail self-test: ${mailbox}`,
                text: `Self-test message to the SES mailbox simulator (${mailbox}), run ${run}.`,
                idempotencyKey,
              }),
            }),
          );
          rows.push({
            mailbox,
            address,
            messageId: messageIdFor(tenantId, idempotencyKey),
            expected: relay ? MessageStatus.SENT : status,
            status: 'QUEUED',
            detail: '',
            ok: false,
          });
        }
        ctx.out.info(
          `sent ${rows.length} self-test messages for ${tenantId} (${environment}, method ${settings.method}, run ${run}); waiting up to ${timeoutMs / 1000} s for feedback`,
        );
        const deadline = now().getTime() + timeoutMs;
        for (;;) {
          for (const row of rows) {
            const { Item } = await ctx.documents.send(
              new GetCommand({
                TableName: ctx.tableName('messages'),
                Key: { messageId: row.messageId },
                ConsistentRead: true,
              }),
            );
            const status = typeof Item?.status === 'string' ? Item.status : 'QUEUED';
            if (status !== row.status) ctx.out.info(`  ${row.mailbox}: ${status}`);
            row.status = status;
            row.detail = typeof Item?.reason === 'string' ? Item.reason : '';
            row.ok = status === row.expected;
          }
          const settled = rows.every((row) => row.ok || STUCK.includes(row.status));
          if (settled || now().getTime() >= deadline) break;
          await sleep(pollIntervalMs);
        }
        const passed = rows.every((row) => row.ok);
        const report = rows.map(({ mailbox, address, expected, status, detail, ok }) => ({
          mailbox,
          address,
          expected,
          status,
          result: ok ? 'ok' : 'UNEXPECTED',
          detail,
        }));
        ctx.out.result({ tenantId, environment, method: settings.method, run, passed, results: report }, () =>
          [
            formatTable(report, ['mailbox', 'expected', 'status', 'result', 'detail']),
            relay
              ? 'external-smtp: the relay accepted or refused each message; its own bounces and complaints do not come back to tenant-mail.'
              : '',
            rows.some((row) => row.status === MessageStatus.PAUSED)
              ? `the tenant is paused: see \`tenant-mail tenant resume --tenant ${tenantId}\``
              : '',
            passed ? 'self-test passed' : 'self-test FAILED',
          ]
            .filter(Boolean)
            .join('\n'),
        );
        return passed ? EXIT.OK : EXIT.CHECK_FAILED;
      },
    },
  ];
}

export const commands: CliCommand[] = createFeedbackCommands();
