/** How the publisher retries a refused or partly failed `SendMessageBatch`. */
export interface RetryPolicy {
  /** Calls per batch, the first included. @default 5 */
  readonly maxAttempts: number;
  /** First backoff; it doubles per attempt, with full jitter. @default 100 ms */
  readonly baseDelayMs: number;
  /** Longest single backoff. @default 5,000 ms */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/**
 * SQS error codes worth another attempt (the SendMessageBatch and common-error lists of the SQS API reference):
 * throttling of the queue or of its KMS key, and the service's own failures. Anything else (an unknown queue, a
 * denied key, a malformed batch) fails the same way again.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'RequestThrottled',
  'ThrottlingException',
  'Throttling',
  'KmsThrottled',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Network-level failures of the HTTP client (the request may not have reached SQS). */
const RETRYABLE_NETWORK = new Set(['TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/** True when a thrown `SendMessageBatch` error is transient: throttling, a server fault or a network failure. */
export function isRetryableError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as { name?: unknown; code?: unknown; $fault?: unknown; $retryable?: unknown };
  if (e.$retryable !== undefined) return true;
  if (typeof e.name === 'string' && (RETRYABLE_CODES.has(e.name) || RETRYABLE_NETWORK.has(e.name)))
    return true;
  if (typeof e.code === 'string' && RETRYABLE_NETWORK.has(e.code)) return true;
  return e.$fault === 'server';
}

/**
 * A failed entry of a `SendMessageBatch` response is retried when SQS says the fault is not the sender's
 * (`SenderFault: false`) or names a throttling code.
 */
export function isRetryableEntry(entry: { readonly SenderFault?: boolean; readonly Code?: string }): boolean {
  return entry.SenderFault !== true || RETRYABLE_CODES.has(entry.Code ?? '');
}

/** Full-jitter exponential backoff before attempt `attempt + 1`. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
