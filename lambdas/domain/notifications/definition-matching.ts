import { createHash } from 'node:crypto';
import type { Environment } from '../scope';
import { displayNameProblem, emailAddressProblem } from '../sending/mail-policy';
import type { EmailCategory } from './composed-email-schema';
import type { Definition, Filter } from './definition-schema';
import { MAX_RECIPIENTS_PER_MESSAGE, type Mailbox, recipientKey } from './email-address';
import type { NotificationEvent } from './event-schema';
import { looksLikeJsonPath, parseJsonPath, resolveJsonPath } from './json-path';

/** Why a job or a recipient was not accepted: a machine code plus a sentence naming the path and value. */
export type RecipientProblemCode =
  | 'RECIPIENT_NOT_FOUND'
  | 'INVALID_RECIPIENT'
  | 'FAN_OUT_NOT_ARRAY'
  | 'DUPLICATE_ITEM_KEY'
  | 'TOO_MANY_RECIPIENTS';

export interface RecipientProblem {
  /** The definition's recipient spec (address or path) that failed. */
  readonly spec: string;
  readonly code: RecipientProblemCode;
  readonly reason: string;
}

interface EmailJobBase {
  /** Deterministic: the same event, definition, recipient and item always give the same id (see {@link emailJobId}). */
  readonly jobId: string;
  readonly tenantId: string;
  readonly environment: Environment;
  readonly eventId: string;
  readonly eventType: string;
  readonly definitionId: string;
  readonly templateId: string;
  readonly category: EmailCategory;
  /** Position of the fan-out element, when the definition has `forEach`. */
  readonly itemIndex?: number;
  /** Value of the definition's `forEach.key` for that element, when it has one. */
  readonly itemKey?: string;
}

/** One email to send: render the template with {@link renderContextFor} and hand it to the send queue. */
export interface AcceptedEmailJob extends EmailJobBase {
  readonly status: 'accepted';
  readonly to: Mailbox;
  readonly cc: readonly Mailbox[];
  readonly bcc: readonly Mailbox[];
  /** The fan-out element, or the event data itself when the definition has no `forEach`. */
  readonly item: unknown;
  /** The definition's `forEach.items` path, when the job comes from a fan-out. */
  readonly fanOutPath?: string;
  /** cc/bcc specs that resolved to nothing or to an invalid address: left out of the email, reported here. */
  readonly skippedRecipients: readonly RecipientProblem[];
}

/** An email that will not be sent; record it REJECTED with `reason`. It never throws the batch away. */
export interface RejectedEmailJob extends EmailJobBase {
  readonly status: 'rejected';
  /** The recipient spec (and value, for an invalid address) the job stands for. */
  readonly recipient: string;
  readonly code: RecipientProblemCode;
  readonly reason: string;
}

export type EmailJob = AcceptedEmailJob | RejectedEmailJob;

/** Evaluates a definition filter against `root` (event data, or a fan-out element). Pure; no `eval`. */
export function evaluateFilter(filter: Filter, root: unknown): boolean {
  if ('all' in filter) return filter.all.every((child) => evaluateFilter(child, root));
  if ('any' in filter) return filter.any.some((child) => evaluateFilter(child, root));
  if ('not' in filter) return !evaluateFilter(filter.not, root);
  const value = resolveJsonPath(root, filter.path);
  if ('exists' in filter) return (value !== undefined && value !== null) === filter.exists;
  if ('eq' in filter) return value === filter.eq;
  return filter.in.some((candidate) => candidate === value);
}

/**
 * The definitions an event triggers: active, same tenant and environment, same type, and whose filter (if any)
 * holds on the event data. Sorted by id so processing order, and thus logs, are stable.
 */
export function matchDefinitions(event: NotificationEvent, definitions: readonly Definition[]): Definition[] {
  return definitions
    .filter(
      (definition) =>
        definition.active &&
        definition.tenantId === event.tenantid &&
        definition.environment === event.environment &&
        definition.eventType === event.type &&
        (!definition.filter || evaluateFilter(definition.filter, event.data)),
    )
    .sort((a, b) => (a.definitionId < b.definitionId ? -1 : a.definitionId > b.definitionId ? 1 : 0));
}

/**
 * The id of one email job: SHA-256 (hex) of tenant, environment, event id, definition id, recipient (lower-cased
 * address, or the failing spec) and fan-out item (`key:<value>` or `index:<n>`, empty without fan-out). SQS may
 * deliver the event twice; both deliveries produce the same ids, so the idempotency ledger sends once.
 */
export function emailJobId(parts: {
  tenantId: string;
  environment: string;
  eventId: string;
  definitionId: string;
  recipient: string;
  item: string;
}): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        parts.tenantId,
        parts.environment,
        parts.eventId,
        parts.definitionId,
        parts.recipient,
        parts.item,
      ]),
    )
    .digest('hex');
}

interface Resolution {
  readonly mailboxes: Mailbox[];
  readonly problems: (RecipientProblem & { readonly value?: string })[];
}

function mailboxFrom(spec: string, value: unknown, into: Resolution): void {
  if (value === undefined || value === null || value === '') {
    into.problems.push({ spec, code: 'RECIPIENT_NOT_FOUND', reason: `${spec} resolved to nothing` });
    return;
  }
  let email: unknown = value;
  let name: unknown;
  if (typeof value === 'object' && !Array.isArray(value)) {
    email = Object.hasOwn(value, 'email') ? (value as { email: unknown }).email : undefined;
    name = Object.hasOwn(value, 'name') ? (value as { name: unknown }).name : undefined;
    if (email === undefined || email === null || email === '') {
      into.problems.push({
        spec,
        code: 'RECIPIENT_NOT_FOUND',
        reason: `${spec} resolved to a contact without email`,
      });
      return;
    }
  }
  if (typeof email !== 'string') {
    into.problems.push({
      spec,
      code: 'INVALID_RECIPIENT',
      reason: `${spec} resolved to a ${Array.isArray(email) ? 'nested array' : typeof email}, not an address`,
    });
    return;
  }
  const address = email.trim();
  const problem = emailAddressProblem(address);
  if (problem) {
    into.problems.push({
      spec,
      value: address,
      code: 'INVALID_RECIPIENT',
      reason: `${spec} resolved to ${JSON.stringify(address.slice(0, 100))}, which ${problem}`,
    });
    return;
  }
  // A display name is header-bound: keep it only when it is a short single line.
  const safeName =
    typeof name === 'string' && name.length <= 200 && displayNameProblem(name) === undefined
      ? name
      : undefined;
  into.mailboxes.push(safeName ? { email: address, name: safeName } : { email: address });
}

function resolveRecipients(specs: readonly string[], scope: unknown): Resolution {
  const resolution: Resolution = { mailboxes: [], problems: [] };
  for (const spec of specs) {
    if (!looksLikeJsonPath(spec)) {
      mailboxFrom(spec, spec, resolution);
      continue;
    }
    const value = resolveJsonPath(scope, spec);
    if (Array.isArray(value)) {
      if (value.length === 0) {
        resolution.problems.push({
          spec,
          code: 'RECIPIENT_NOT_FOUND',
          reason: `${spec} resolved to an empty list`,
        });
      }
      for (const element of value.slice(0, MAX_RECIPIENTS_PER_MESSAGE))
        mailboxFrom(spec, element, resolution);
    } else {
      mailboxFrom(spec, value, resolution);
    }
  }
  return resolution;
}

function uniqueMailboxes(mailboxes: readonly Mailbox[], exclude: Set<string>): Mailbox[] {
  const out: Mailbox[] = [];
  for (const mailbox of mailboxes) {
    const key = recipientKey(mailbox.email);
    if (exclude.has(key)) continue;
    exclude.add(key);
    out.push(mailbox);
  }
  return out;
}

interface FanOutItem {
  readonly item: unknown;
  readonly index?: number;
  readonly key?: string;
  /** Set when an earlier element already used this key. */
  readonly duplicate?: boolean;
}

/** Options of {@link expandJobs}. */
export interface ExpandOptions {
  /**
   * Only expand fan-out elements with `start <= index < end`, so a dispatcher can work through a large bill run
   * in chunks and continue in a later invocation. Default: all elements. Ignored without `forEach`.
   */
  readonly itemRange?: { readonly start: number; readonly end?: number };
}

/** How many fan-out elements the definition sees in the event (1 without `forEach`, 0 when the path is no array). */
export function fanOutSize(event: NotificationEvent, definition: Definition): number {
  if (!definition.forEach) return 1;
  const items = resolveJsonPath(event.data, definition.forEach.items);
  return Array.isArray(items) ? items.length : 0;
}

function keyOf(item: unknown, path: string | undefined): string | undefined {
  if (!path) return undefined;
  const value = resolveJsonPath(item, path);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/**
 * Turns one matched definition into email jobs: one per `to` recipient (per fan-out element), each carrying the
 * definition's cc/bcc. Recipients that resolve to nothing or to an invalid address become rejected jobs with a
 * reason instead of exceptions, so one bad bill-to contact never stops the other 9,999 invoices.
 * Recipients are de-duplicated case-insensitively; a `to` address is dropped from cc/bcc.
 */
export function expandJobs(
  event: NotificationEvent,
  definition: Definition,
  options: ExpandOptions = {},
): EmailJob[] {
  const base = {
    tenantId: event.tenantid,
    environment: event.environment,
    eventId: event.id,
    eventType: event.type,
    definitionId: definition.definitionId,
    templateId: definition.templateId,
    category: definition.category,
  };
  const idFor = (recipient: string, item: string) =>
    emailJobId({ ...base, definitionId: definition.definitionId, recipient, item });

  const forEach = definition.forEach;
  const items: FanOutItem[] = [];
  if (!forEach) {
    items.push({ item: event.data });
  } else {
    const array = resolveJsonPath(event.data, forEach.items);
    if (!Array.isArray(array)) {
      return [
        {
          ...base,
          status: 'rejected',
          jobId: idFor('*', 'forEach'),
          recipient: forEach.items,
          code: 'FAN_OUT_NOT_ARRAY',
          reason: `forEach.items ${forEach.items} did not resolve to an array`,
        },
      ];
    }
    const start = Math.max(0, options.itemRange?.start ?? 0);
    const end = Math.min(array.length, options.itemRange?.end ?? array.length);
    // Keys seen before `start` count too, so chunked and whole expansions reject the same duplicates.
    const seenKeys = new Set<string>();
    for (let index = 0; index < end; index++) {
      const item: unknown = array[index];
      const key = keyOf(item, forEach.key);
      const duplicate = key !== undefined && seenKeys.has(key);
      if (key !== undefined) seenKeys.add(key);
      if (index < start) continue;
      if (forEach.filter && !evaluateFilter(forEach.filter, item)) continue;
      items.push({ item, index, key, duplicate });
    }
  }

  const jobs: EmailJob[] = [];
  for (const { item, index, key, duplicate } of items) {
    const itemId = index === undefined ? '' : key !== undefined ? `key:${key}` : `index:${index}`;
    const position =
      index === undefined
        ? {}
        : key !== undefined
          ? { itemIndex: index, itemKey: key }
          : { itemIndex: index };
    if (duplicate) {
      jobs.push({
        ...base,
        ...position,
        status: 'rejected',
        jobId: idFor('*', `index:${index}`),
        recipient: '*',
        code: 'DUPLICATE_ITEM_KEY',
        reason: `element ${index} repeats key ${JSON.stringify(key)} of an earlier element`,
      });
      continue;
    }
    const to = resolveRecipients(definition.to, item);
    const cc = resolveRecipients(definition.cc, item);
    const bcc = resolveRecipients(definition.bcc, item);
    for (const problem of to.problems) {
      const recipient = problem.value === undefined ? problem.spec : `${problem.spec}=${problem.value}`;
      jobs.push({
        ...base,
        ...position,
        status: 'rejected',
        jobId: idFor(recipientKey(recipient), itemId),
        recipient,
        code: problem.code,
        reason: problem.reason,
      });
    }
    const skippedRecipients = [...cc.problems, ...bcc.problems].map(({ spec, code, reason }) => ({
      spec,
      code,
      reason,
    }));
    for (const mailbox of uniqueMailboxes(to.mailboxes, new Set())) {
      const taken = new Set([recipientKey(mailbox.email)]);
      const ccBoxes = uniqueMailboxes(cc.mailboxes, taken);
      const bccBoxes = uniqueMailboxes(bcc.mailboxes, taken);
      const jobId = idFor(recipientKey(mailbox.email), itemId);
      if (1 + ccBoxes.length + bccBoxes.length > MAX_RECIPIENTS_PER_MESSAGE) {
        jobs.push({
          ...base,
          ...position,
          status: 'rejected',
          jobId,
          recipient: mailbox.email,
          code: 'TOO_MANY_RECIPIENTS',
          reason: `cc and bcc resolved to ${ccBoxes.length + bccBoxes.length} addresses; one message holds at most ${MAX_RECIPIENTS_PER_MESSAGE} recipients`,
        });
        continue;
      }
      jobs.push({
        ...base,
        ...position,
        status: 'accepted',
        jobId,
        to: mailbox,
        cc: ccBoxes,
        bcc: bccBoxes,
        item,
        ...(forEach ? { fanOutPath: forEach.items } : {}),
        skippedRecipients,
      });
    }
  }
  return jobs;
}

/** The variables a template sees. `item` is the fan-out element, or `data` when there is no fan-out. */
export interface RenderContext {
  readonly event: {
    readonly id: string;
    readonly type: string;
    readonly source: string;
    readonly time: string;
    readonly subject?: string;
    readonly tenantid: string;
    readonly environment: string;
  };
  readonly data: Record<string, unknown>;
  readonly item: unknown;
  readonly recipient: Mailbox;
}

/**
 * The event data a fan-out template sees: without the fanned-out array when it sits at the top level
 * (`$.invoices`), so rendering each of 10,000 invoice emails cannot loop over all 10,000 invoices.
 */
function dataFor(event: NotificationEvent, job: AcceptedEmailJob): Record<string, unknown> {
  const segments = job.fanOutPath === undefined ? undefined : parseJsonPath(job.fanOutPath);
  const top = segments?.length === 1 ? segments[0] : undefined;
  if (typeof top !== 'string' || !Object.hasOwn(event.data, top)) return event.data;
  const { [top]: _fannedOut, ...rest } = event.data;
  return rest;
}

/**
 * Builds the template variables for one accepted job: `event` (envelope attributes), `data` (event data; in a
 * fan-out without the fanned-out top-level array), `item` and `recipient`. Event data comes from `JSON.parse`,
 * so it holds plain values only; the renderer additionally hides inherited properties.
 */
export function renderContextFor(event: NotificationEvent, job: AcceptedEmailJob): RenderContext {
  return {
    event: {
      id: event.id,
      type: event.type,
      source: event.source,
      time: event.time,
      ...(event.subject === undefined ? {} : { subject: event.subject }),
      tenantid: event.tenantid,
      environment: event.environment,
    },
    data: dataFor(event, job),
    item: job.item,
    recipient: job.to,
  };
}
