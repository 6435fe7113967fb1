/**
 * One message for a send lane. Build it with `laneMessage` / `laneMessageFromBody` (sending/send-request.ts),
 * which put the idempotency key in the body, so every copy of it maps to the same record.
 */
export interface LaneMessage {
  readonly messageId: string;
  readonly tenantId: string;
  readonly category: 'transactional' | 'bulk';
  readonly body: string;
}

/**
 * The send lanes (`send` for transactional mail, `send-bulk` for bulk): the only writer to them. Dispatch,
 * deferral, release, sweep and DLQ redrive all publish here, so every message carries its idempotency key and
 * `MessageGroupId = tenantId` (SQS fair queues).
 */
export interface SendLanes {
  /** Publishes with batch calls; returns the message ids SQS accepted (the caller retries the others). */
  publish(
    messages: readonly LaneMessage[],
    options?: { readonly delaySeconds?: number },
  ): Promise<{ readonly sent: readonly string[] }>;
}
