import type { DeserializeHandler, DeserializeMiddleware, MiddlewareStack } from '@smithy/types';

/** Operations that write (charged as write request units) and read on DynamoDB. */
const DYNAMODB_WRITES = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);
const DYNAMODB_READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

/**
 * Counts the HTTP requests an AWS SDK v3 client sends, by operation, with a `deserialize` middleware (the step
 * every attempt passes, inside the SDK's retry loop, so retried requests count as what they cost): attach it to
 * the DynamoDB client under a DocumentClient, the SES client, the SQS client of the deferral queue.
 */
export class RequestCounter {
  private readonly counts = new Map<string, number>();
  private readonly durations = new Map<string, number>();

  /** Adds the counting middleware to a client's stack; `service` prefixes the operation name. */
  attach<Input extends object, Output extends object>(
    client: { readonly middlewareStack: MiddlewareStack<Input, Output> },
    service: string,
  ): void {
    const middleware: DeserializeMiddleware<Input, Output> =
      (next: DeserializeHandler<Input, Output>, context) => async (args) => {
        const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        const key = `${service}:${operation}`;
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
        const started = performance.now();
        try {
          return await next(args);
        } finally {
          this.durations.set(key, (this.durations.get(key) ?? 0) + performance.now() - started);
        }
      };
    client.middlewareStack.add(middleware, {
      step: 'deserialize',
      name: `benchCount-${service}`,
    });
  }

  /** Requests per operation, e.g. `{ 'dynamodb:PutItem': 2000 }`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Mean client-side latency per operation in milliseconds (request, emulator, response, SDK (de)serialization). */
  meanLatencyMs(): Record<string, number> {
    return Object.fromEntries(
      [...this.durations]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, total]) => [key, total / (this.counts.get(key) ?? 1)]),
    );
  }

  reset(): void {
    this.counts.clear();
    this.durations.clear();
  }

  /** Total requests of a service, optionally only the operations `filter` accepts. */
  total(service: string, filter: (operation: string) => boolean = () => true): number {
    let sum = 0;
    for (const [key, count] of this.counts) {
      const [prefix, operation = ''] = key.split(':');
      if (prefix === service && filter(operation)) sum += count;
    }
    return sum;
  }

  dynamoWrites(): number {
    return this.total('dynamodb', (operation) => DYNAMODB_WRITES.has(operation));
  }

  dynamoReads(): number {
    return this.total('dynamodb', (operation) => DYNAMODB_READS.has(operation));
  }
}
