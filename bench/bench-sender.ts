import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { SecretsManagerSecretStore } from '../lambdas/adapters/secrets/secrets-manager-secret-store';
import { LazyRelaySender } from '../lambdas/adapters/smtp/lazy-relay-sender';
import { createSendEmailHandler } from '../lambdas/handlers/send-email';
import { SENDER_SES_CLIENT_CONFIG, senderDeps } from '../lambdas/handlers/send-email.deps';
import { createRelaySender } from '../lambdas/handlers/send-email.relay';
import { loadSenderConfig, type SenderConfig } from '../lambdas/shared/config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/emulators/local-aws';
import { createSqsPoller, type SqsHandler } from '../local/twin/sqs-poller';
import { RequestCounter } from './request-counter';

const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };

/** The sender handler wired exactly as `send-email.handler.ts` wires it, on the emulators, with request counting. */
export interface BenchSender {
  readonly config: SenderConfig;
  readonly handler: SqsHandler;
  readonly counter: RequestCounter;
  readonly documents: DynamoDBDocumentClient;
  /** For publishing and polling; not counted. */
  readonly sqs: SQSClient;
  /** The sender's SES client (counted). */
  readonly ses: SESv2Client;
  destroy(): void;
}

/** Where the emulators listen, and the environment the template gives the sender function. */
export interface BenchSenderOptions {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly sesEndpoint: string;
  readonly environment: Record<string, string>;
  /**
   * The external-smtp transport, wired as `send-email.handler.ts` wires it (relay passwords from Secrets Manager):
   * where the Secrets Manager emulator listens, and the relay certificates to trust besides Node's roots. Without
   * it, tenants on external-smtp are rejected, as in a sender built without a relay.
   */
  readonly relay?: {
    readonly secretsManagerEndpoint: string;
    readonly trustedCertificates: readonly string[];
  };
}

/**
 * Runs inside an esbuild bundle (see `load-bench-sender.ts`): @middy/core is ESM-only and tsx loads this
 * CommonJS project's sources with `require`, as Lambda loads the bundled function. Every AWS client the sender
 * uses is created here, so error classes (`SESv2ServiceException`) come from the same copy as the adapters.
 *
 * Builds the sender from the template's environment (through the real config module) and the production
 * composition (tenant and identity caches at their defaults), with clients pointed at the emulators. Counts
 * DynamoDB requests on the DocumentClient, SES calls and the deferral queue's SQS calls.
 */
export function benchSender(options: BenchSenderOptions): BenchSender {
  const config = loadSenderConfig(options.environment);
  const counter = new RequestCounter();
  const dynamodb = new DynamoDBClient({ ...aws, endpoint: options.dynamodbEndpoint });
  const ses = new SESv2Client({ ...aws, ...SENDER_SES_CLIENT_CONFIG, endpoint: options.sesEndpoint });
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  counter.attach(documents, 'dynamodb');
  counter.attach(ses, 'ses');
  const deferralSqs = new SQSClient({ ...aws, endpoint: options.sqsEndpoint });
  counter.attach(deferralSqs, 'sqs');
  const secretsManager = options.relay
    ? new SecretsManagerClient({ ...aws, endpoint: options.relay.secretsManagerEndpoint })
    : undefined;
  if (options.relay) {
    // What NODE_EXTRA_CA_CERTS does (as the twin's Lambda worker does it): the relay's certificate is trusted
    // besides the bundled roots, and the production transport verifies it unchanged.
    setDefaultCACertificates([...getCACertificates('default'), ...options.relay.trustedCertificates]);
  }
  const relay = secretsManager
    ? new LazyRelaySender(() => createRelaySender(new SecretsManagerSecretStore({ client: secretsManager })))
    : undefined;
  const handler = createSendEmailHandler(
    senderDeps(config, { documents, ses, sqs: deferralSqs, ...(relay ? { relay } : {}) }),
  );
  // A separate client for the poller and the publisher, so the counter sees only the sender's own SQS calls.
  const sqs = new SQSClient({ ...aws, endpoint: options.sqsEndpoint });
  return {
    config,
    handler,
    counter,
    documents,
    sqs,
    ses,
    destroy() {
      dynamodb.destroy();
      ses.destroy();
      deferralSqs.destroy();
      sqs.destroy();
      secretsManager?.destroy();
    },
  };
}

/** Waits until the SES emulator verified the platform domain (its DKIM CNAMEs are in the local DNS). */
export async function waitForVerifiedIdentity(ses: SESv2Client, domain: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const identity = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
    if (identity.VerifiedForSendingStatus) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the SES emulator did not verify ${domain}`);
}

/** Publishes `count` composed emails (one recipient each, unique idempotency keys) in batches of ten. */
export async function publishEmails(
  sqs: SQSClient,
  queueUrl: string,
  count: number,
  email: (index: number) => Record<string, unknown>,
): Promise<void> {
  const batches: Promise<unknown>[] = [];
  for (let start = 0; start < count; start += 10) {
    const entries = Array.from({ length: Math.min(10, count - start) }, (_, offset) => ({
      Id: String(offset),
      MessageBody: JSON.stringify(email(start + offset)),
    }));
    batches.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    if (batches.length >= 20) await Promise.all(batches.splice(0));
  }
  await Promise.all(batches);
}

/** Per-invocation timings and settled records, collected by wrapping the handler. */
export interface TimedHandler {
  readonly handler: SqsHandler;
  readonly batchMs: number[];
  readonly settledRecords: () => number;
}

/** Wraps a handler to time every invocation (one batch) and count records it settled (not returned as failures). */
export function timedHandler(handler: SqsHandler, onSettled?: (total: number) => void): TimedHandler {
  const batchMs: number[] = [];
  let settled = 0;
  return {
    batchMs,
    settledRecords: () => settled,
    handler: async (event: SQSEvent, context) => {
      const started = performance.now();
      const response = await handler(event, context);
      batchMs.push(performance.now() - started);
      settled += event.Records.length - (response?.batchItemFailures?.length ?? 0);
      onSettled?.(settled);
      return response;
    },
  };
}

/**
 * Runs the poller (the event source mapping's emulation) with `concurrency` loops until `done()` holds, or
 * `timeoutMs` passes. Returns the elapsed milliseconds.
 */
export async function pollUntil(
  sqs: SQSClient,
  handler: SqsHandler,
  options: {
    queueUrl: string;
    queueArn: string;
    concurrency: number;
    timeoutMs: number;
    done: () => boolean;
  },
): Promise<{ elapsedMs: number; timedOut: boolean }> {
  const errors: unknown[] = [];
  const poller = createSqsPoller(sqs, handler, {
    queueUrl: options.queueUrl,
    queueArn: options.queueArn,
    batchSize: 10,
    maxConcurrency: options.concurrency,
    waitTimeSeconds: 1,
    onError: (error) => errors.push(error),
  });
  const started = performance.now();
  poller.start();
  let timedOut = false;
  while (!options.done()) {
    if (performance.now() - started > options.timeoutMs) {
      timedOut = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const elapsedMs = performance.now() - started;
  await poller.stop();
  if (errors.length > 0) {
    const [first] = errors;
    console.error(`poller: ${errors.length} invocation errors, first: ${String(first)}`);
  }
  return { elapsedMs, timedOut };
}
