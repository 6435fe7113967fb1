import { badRequest, notFound } from './api-errors';
import type { EmulatorContext } from './emulator-context';
import type { SuppressionRecord } from './emulator-store';
import type { ApiRequest, ApiResponse } from './http-router';
import { epochSeconds, optionalString, paginate, requiredString } from './request-fields';

const REASONS = new Set(['BOUNCE', 'COMPLAINT']);

/** The tenant of a suppression request: the `TenantName` member or query parameter; absent for the account list. */
const tenantOf = (request: ApiRequest): string | undefined =>
  optionalString(request.body, 'TenantName') ?? request.query.get('TenantName') ?? undefined;

function findEntry(ctx: EmulatorContext, request: ApiRequest): SuppressionRecord {
  const address = request.params.EmailAddress ?? '';
  const entry = ctx.store.suppressions.get(ctx.store.suppressionKey(address, tenantOf(request)));
  if (!entry) throw notFound(`Email address ${address} does not exist on your suppression list.`);
  return entry;
}

export function putSuppressedDestination(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const address = requiredString(request.body, 'EmailAddress');
  const reason = requiredString(request.body, 'Reason');
  if (!REASONS.has(reason)) throw badRequest(`Invalid reason ${reason}: use BOUNCE or COMPLAINT.`);
  if (!address.includes('@')) throw badRequest(`Invalid email address ${address}.`);
  const tenantName = tenantOf(request);
  if (tenantName && !ctx.store.tenants.has(tenantName))
    throw notFound(`Tenant ${tenantName} does not exist.`);
  ctx.store.putSuppression({
    address: address.toLowerCase(),
    reason: reason as SuppressionRecord['reason'],
    lastUpdateTime: Date.now(),
    ...(tenantName ? { tenantName } : {}),
  });
  return { json: {} };
}

export function getSuppressedDestination(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const entry = findEntry(ctx, request);
  return {
    json: {
      SuppressedDestination: {
        EmailAddress: entry.address,
        Reason: entry.reason,
        LastUpdateTime: epochSeconds(entry.lastUpdateTime),
        Attributes: {
          ...(entry.messageId ? { MessageId: entry.messageId } : {}),
          ...(entry.feedbackId ? { FeedbackId: entry.feedbackId } : {}),
        },
        ...(entry.tenantName ? { TenantName: entry.tenantName } : {}),
      },
    },
  };
}

export function deleteSuppressedDestination(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const entry = findEntry(ctx, request);
  ctx.store.deleteSuppression(entry.address, entry.tenantName);
  return { json: {} };
}

export function listSuppressedDestinations(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const { query } = request;
  const reasons = query.getAll('Reason');
  const tenantName = query.get('TenantName') ?? undefined;
  const start = query.get('StartDate');
  const end = query.get('EndDate');
  const entries = [...ctx.store.suppressions.values()]
    .filter((entry) => entry.tenantName === tenantName)
    .filter((entry) => reasons.length === 0 || reasons.includes(entry.reason))
    .filter((entry) => !start || entry.lastUpdateTime >= toMs(start))
    .filter((entry) => !end || entry.lastUpdateTime <= toMs(end))
    .sort((a, b) => b.lastUpdateTime - a.lastUpdateTime);
  const { page, ...rest } = paginate(
    entries,
    query.get('NextToken') ?? undefined,
    Number(query.get('PageSize') ?? 0) || undefined,
  );
  return {
    json: {
      SuppressedDestinationSummaries: page.map((entry) => ({
        EmailAddress: entry.address,
        Reason: entry.reason,
        LastUpdateTime: epochSeconds(entry.lastUpdateTime),
      })),
      ...rest,
    },
  };
}

/** Query timestamps arrive as ISO 8601 (the SDK's default for query strings) or epoch seconds. */
const toMs = (value: string): number =>
  /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
