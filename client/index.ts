/**
 * `tenant-mail/client`: what a platform's services import. The publisher puts events and composed emails on a
 * scope's events queue; the admin client drives everything an operator can do.
 */

/** Status events out (docs/events.md "Events out"): parse what a rule on `tenant-mail.<scope>` delivers. */
export {
  NOTABLE_STATUSES,
  type NotableStatus,
  STATUS_EVENT_DETAIL_TYPE,
  STATUS_EVENT_SOURCE,
  STATUS_EVENT_VERSION,
  type StatusEventDetail,
  statusEventDetailSchema,
} from '../lambdas/domain/message/status-events';
export * from './admin-client';
export {
  createPublisher,
  Publisher,
  type PublisherOptions,
  type PublishResult,
  type SentMessage,
} from './publisher';
export {
  type AccountStatementData,
  accountStatementProcessed,
  type BillRunData,
  billRunCompleted,
  type CloudEventMessage,
  type ComposedEmailInput,
  composedEmail,
  customEvent,
  deriveEventId,
  type EventAttributes,
  type InvoiceData,
  invoicePosted,
  type OutboundMessage,
  type PaymentData,
  paymentProcessed,
} from './publisher-events';
export { CONTINUATION_HEADROOM_BYTES, SQS_MAX_MESSAGE_BYTES } from './publisher-parts';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './publisher-retry';
