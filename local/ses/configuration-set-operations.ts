import { alreadyExists, badRequest, notFound } from './api-errors';
import type { EmulatorContext } from './emulator-context';
import type { ConfigurationSetRecord, EventDestinationRecord } from './emulator-store';
import type { ApiRequest, ApiResponse } from './http-router';
import {
  optionalBoolean,
  optionalObject,
  optionalString,
  paginate,
  requiredString,
  stringList,
  tagList,
} from './request-fields';

const OPTION_GROUPS = [
  'TrackingOptions',
  'DeliveryOptions',
  'ReputationOptions',
  'SendingOptions',
  'SuppressionOptions',
  'VdmOptions',
  'ArchivingOptions',
  'MessageSecurityOptions',
] as const;

const EVENT_TYPES = new Set([
  'SEND',
  'REJECT',
  'BOUNCE',
  'COMPLAINT',
  'DELIVERY',
  'OPEN',
  'CLICK',
  'RENDERING_FAILURE',
  'DELIVERY_DELAY',
  'SUBSCRIPTION',
]);

function findSet(ctx: EmulatorContext, name: string): ConfigurationSetRecord {
  const set = ctx.store.configurationSets.get(name);
  if (!set) throw notFound(`Configuration set <${name}> does not exist.`);
  return set;
}

export function createConfigurationSet(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const name = requiredString(request.body, 'ConfigurationSetName');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw badRequest(`Invalid configuration set name <${name}>.`);
  if (ctx.store.configurationSets.has(name))
    throw alreadyExists(`Configuration set <${name}> already exists.`);
  const options: Record<string, unknown> = {};
  for (const group of OPTION_GROUPS) {
    const value = optionalObject(request.body, group);
    if (value) options[group] = value;
  }
  const sending = optionalObject(request.body, 'SendingOptions');
  const suppression = optionalObject(request.body, 'SuppressionOptions');
  ctx.store.putConfigurationSet({
    name,
    createdAt: Date.now(),
    sendingEnabled: optionalBoolean(sending ?? {}, 'SendingEnabled') ?? true,
    ...(suppression && Array.isArray(suppression.SuppressedReasons)
      ? { suppressedReasons: stringList(suppression, 'SuppressedReasons') }
      : {}),
    tags: tagList(request.body),
    options,
    eventDestinations: [],
  });
  return { json: {} };
}

export function getConfigurationSet(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  return {
    json: {
      ConfigurationSetName: set.name,
      ...set.options,
      SendingOptions: { SendingEnabled: set.sendingEnabled },
      ...(set.suppressedReasons ? { SuppressionOptions: { SuppressedReasons: set.suppressedReasons } } : {}),
      Tags: set.tags,
    },
  };
}

export function listConfigurationSets(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const nextToken = optionalString(request.body, 'NextToken') ?? request.query.get('NextToken') ?? undefined;
  const pageSize = Number(request.body.PageSize ?? request.query.get('PageSize') ?? 0) || undefined;
  const names = [...ctx.store.configurationSets.keys()].sort();
  const { page, ...rest } = paginate(names, nextToken, pageSize);
  return { json: { ConfigurationSets: page, ...rest } };
}

export function deleteConfigurationSet(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  ctx.store.deleteConfigurationSet(set.name);
  return { json: {} };
}

/** `PUT …/configuration-sets/{name}/sending`: pauses or resumes sending through the set. */
export function putConfigurationSetSendingOptions(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  set.sendingEnabled = optionalBoolean(request.body, 'SendingEnabled') ?? false;
  ctx.store.putConfigurationSet(set);
  return { json: {} };
}

/** `PUT …/configuration-sets/{name}/suppression-options`. */
export function putConfigurationSetSuppressionOptions(
  ctx: EmulatorContext,
  request: ApiRequest,
): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  set.suppressedReasons = stringList(request.body, 'SuppressedReasons');
  ctx.store.putConfigurationSet(set);
  return { json: {} };
}

function destinationFrom(name: string, definition: Record<string, unknown>): EventDestinationRecord {
  const types = stringList(definition, 'MatchingEventTypes');
  const unknown = types.filter((type) => !EVENT_TYPES.has(type));
  if (unknown.length > 0) throw badRequest(`Unknown event types: ${unknown.join(', ')}.`);
  const sns = optionalObject(definition, 'SnsDestination');
  const topicArn = sns ? requiredString(sns, 'TopicArn') : undefined;
  if (topicArn && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/.test(topicArn)) {
    throw badRequest(`Invalid SNS topic ARN: ${topicArn}.`);
  }
  return {
    name,
    enabled: optionalBoolean(definition, 'Enabled') ?? false,
    matchingEventTypes: types,
    ...(topicArn ? { snsTopicArn: topicArn } : {}),
    definition,
  };
}

export function createEventDestination(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  const name = requiredString(request.body, 'EventDestinationName');
  const definition = optionalObject(request.body, 'EventDestination');
  if (!definition) throw badRequest('Missing required field EventDestination.');
  if (set.eventDestinations.some((destination) => destination.name === name)) {
    throw alreadyExists(`Event destination ${name} already exists in configuration set <${set.name}>.`);
  }
  set.eventDestinations.push(destinationFrom(name, definition));
  ctx.store.putConfigurationSet(set);
  return { json: {} };
}

export function updateEventDestination(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  const name = request.params.EventDestinationName ?? '';
  const index = set.eventDestinations.findIndex((destination) => destination.name === name);
  if (index === -1) throw notFound(`Event destination ${name} does not exist.`);
  const definition = optionalObject(request.body, 'EventDestination');
  if (!definition) throw badRequest('Missing required field EventDestination.');
  set.eventDestinations[index] = destinationFrom(name, definition);
  ctx.store.putConfigurationSet(set);
  return { json: {} };
}

export function getEventDestinations(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  return {
    json: {
      EventDestinations: set.eventDestinations.map((destination) => ({
        ...destination.definition,
        Name: destination.name,
        Enabled: destination.enabled,
        MatchingEventTypes: destination.matchingEventTypes,
      })),
    },
  };
}

export function deleteEventDestination(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const set = findSet(ctx, request.params.ConfigurationSetName ?? '');
  const name = request.params.EventDestinationName ?? '';
  const before = set.eventDestinations.length;
  set.eventDestinations = set.eventDestinations.filter((destination) => destination.name !== name);
  if (set.eventDestinations.length === before) throw notFound(`Event destination ${name} does not exist.`);
  ctx.store.putConfigurationSet(set);
  return { json: {} };
}
