import type { SelftestResult } from '../../client/selftest';
import type { DeadLetter } from '../../lambdas/adapters/sqs-dead-letters';
import { MessageStatus } from '../../lambdas/domain/message/message-status';
import { formatTable } from '../output';

export const deadLetterTable = (letters: readonly DeadLetter[]) =>
  formatTable(letters, ['sqsMessageId', 'tenantId', 'messageId', 'reasonCode', 'reason', 'receiveCount']);

export const redriven = (queue: string, result: { moved: number; skipped: number; via: string }) =>
  `moved ${result.moved} message(s) from ${queue}-dlq back to ${queue} (${result.via})` +
  (result.skipped ? `; ${result.skipped} of other tenants left in the dead-letter queue` : '');

export function selftestReport(result: SelftestResult): string {
  const rows = result.results.map((r) => ({ ...r, result: r.ok ? 'ok' : 'UNEXPECTED' }));
  return [
    formatTable(rows, ['mailbox', 'expected', 'status', 'result', 'detail']),
    result.method === 'external-smtp'
      ? 'external-smtp: the relay accepted or refused each message; its own bounces and complaints do not come back to tenant-mail.'
      : '',
    result.results.some((r) => r.status === MessageStatus.PAUSED)
      ? `the tenant is paused: see \`tenant-mail tenant resume --tenant ${result.tenantId}\``
      : '',
    result.passed ? 'self-test passed' : 'self-test FAILED',
  ]
    .filter(Boolean)
    .join('\n');
}
