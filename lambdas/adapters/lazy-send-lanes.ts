import type { LaneMessage, SendLanes } from '../domain/message/send-lanes';

/**
 * `SendLanes` created at their first use: `load` runs once, at the first publish of the container, and the lanes
 * it returns serve every later call. The sender publishes only to defer an email, so a cold start that defers
 * nothing never loads the SQS client. A `load` that throws (its module missing from the asset) fails that publish,
 * which the sender handles like any failed deferral, and is tried again on the next one.
 */
export class LazySendLanes implements SendLanes {
  private lanes?: SendLanes;

  constructor(private readonly load: () => SendLanes) {}

  async publish(
    messages: readonly LaneMessage[],
    options?: { readonly delaySeconds?: number },
  ): Promise<{ readonly sent: readonly string[] }> {
    this.lanes ??= this.load();
    return this.lanes.publish(messages, options);
  }

  /** Whether the lanes were created yet (tests, and a metric of how many containers pay for them). */
  get isLoaded(): boolean {
    return this.lanes !== undefined;
  }
}
