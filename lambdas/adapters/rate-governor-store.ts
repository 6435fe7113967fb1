import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type Update,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DEFAULT_BULK_SHARE,
  planReservation,
  type RateGovernor,
  type Reservation,
  type ReservationRequest,
  refusal,
  type WindowPlan,
} from '../domain/rate-limit/rate-limits';

/** Source of the current time; injected so tests can move through minutes and days without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface DynamoRateGovernorOptions {
  readonly client: DynamoDBClient;
  /** The counters table (TABLES.counters: `pk`, `sk`, TTL on `expiresAt`). */
  readonly tableName: string;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Share of each limit bulk mail may use. @default DEFAULT_BULK_SHARE (0.8) */
  readonly bulkShare?: number;
  /**
   * Times a reservation is retried when DynamoDB cancels it because a concurrent transaction touched the same
   * counter (not because a window is full). After that the caller is told to come back in a second.
   * @default 4
   */
  readonly conflictRetries?: number;
}

/**
 * Rate governor shared by every concurrent sender, with its state in the counters table.
 *
 * Item layout: `pk = RATE#<key>`, `sk = <unit>#<windowStartMs>`, numeric `messages` and `recipients`, `expiresAt`
 * (window end + margin, for TTL). A reservation adds to the counter of every window it must fit in (second, minute,
 * day) with `ADD`, each guarded by a condition on the current count, all in one `TransactWriteItems`: it is granted
 * in every window or in none, and no read-then-write race can overshoot a limit. A single window uses a plain
 * conditional `UpdateItem` (half the write cost of a transaction).
 *
 * Windows are fixed and aligned to the epoch: at most N in each window. Capacity reserved for a send that then
 * fails is not given back; that errs on the side of staying under the relay's limit.
 */
export class DynamoRateGovernor implements RateGovernor {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly bulkShare: number;
  private readonly conflictRetries: number;

  constructor(options: DynamoRateGovernorOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.bulkShare = options.bulkShare ?? DEFAULT_BULK_SHARE;
    this.conflictRetries = options.conflictRetries ?? 4;
  }

  async reserve(request: ReservationRequest): Promise<Reservation> {
    for (let attempt = 0; ; attempt++) {
      const nowMs = this.clock.now();
      const plans = planReservation(request, nowMs, this.bulkShare);
      if (plans.length === 0) return { granted: true };
      const result = await this.apply(request.key, plans, nowMs);
      if (result !== 'conflict') return result;
      if (attempt >= this.conflictRetries) return refusal([], nowMs);
      await delay(10 * 2 ** attempt * (0.5 + Math.random()));
    }
  }

  private async apply(key: string, plans: WindowPlan[], nowMs: number): Promise<Reservation | 'conflict'> {
    const updates = plans.map((plan) => this.update(key, plan));
    const [single] = updates;
    if (single && updates.length === 1) {
      try {
        await this.client.send(new UpdateItemCommand(single));
        return { granted: true };
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return refusal(plans, nowMs);
        throw error;
      }
    }
    try {
      await this.client.send(
        new TransactWriteItemsCommand({ TransactItems: updates.map((Update) => ({ Update })) }),
      );
      return { granted: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const full = plans.filter((_, index) => reasons[index]?.Code === 'ConditionalCheckFailed');
      if (full.length > 0) return refusal(full, nowMs);
      if (reasons.some((reason) => reason.Code === 'TransactionConflict')) return 'conflict';
      throw error;
    }
  }

  private update(key: string, plan: WindowPlan): Update {
    const adds: string[] = [];
    const conditions: string[] = [];
    const names: Record<string, string> = { '#expiresAt': 'expiresAt' };
    const values: Update['ExpressionAttributeValues'] = { ':expiresAt': { N: String(plan.expiresAt) } };
    for (const counter of ['messages', 'recipients'] as const) {
      const check = plan[counter];
      if (!check) continue;
      names[`#${counter}`] = counter;
      values[`:${counter}`] = { N: String(check.amount) };
      values[`:${counter}Max`] = { N: String(check.ceiling - check.amount) };
      adds.push(`#${counter} :${counter}`);
      conditions.push(`(attribute_not_exists(#${counter}) OR #${counter} <= :${counter}Max)`);
    }
    return {
      TableName: this.tableName,
      Key: { pk: { S: `RATE#${key}` }, sk: { S: plan.sk } },
      UpdateExpression: `SET #expiresAt = :expiresAt ADD ${adds.join(', ')}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
