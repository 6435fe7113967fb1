import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsSendLanes, type SqsSendLanesOptions } from '../adapters/sqs-send-lanes';
import type { SendLanes } from '../domain/message/send-lanes';

/**
 * The sender's send lanes, which it publishes to only to defer an email: the SQS client and the lanes adapter.
 * Bundled into a file of its own beside the sender's `index.js` (LAZY_MODULES in lib/constructs/tenant-mail-function.ts)
 * and required at a container's first deferral (`senderDeps`), so a cold start neither reads nor evaluates the SQS
 * client. The price: this file carries its own copy of the AWS SDK's core, which a container loads at its first
 * deferral (docs/benchmarks.md, section 3). `client` is for benches and tests that point the lanes at an emulator;
 * the deployed function reaches SQS through the environment's endpoint.
 */
export function createSendLanes(
  queueUrls: SqsSendLanesOptions['queueUrls'],
  client: SQSClient = new SQSClient({}),
): SendLanes {
  return new SqsSendLanes(client, { queueUrls });
}
