import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../emulators/local-aws';
import { addressableQueueUrl, endpointOf } from '../twin/provision';
import {
  type EventPattern,
  InvalidEventPatternError,
  matchesPattern,
  validatePattern,
} from './event-pattern';

/** An event as EventBridge delivers it to a rule's target. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

export interface RuleTarget {
  readonly Id: string;
  readonly Arn: string;
  /** Constant JSON sent instead of the event. */
  readonly Input?: string;
}

export interface BusRule {
  readonly name: string;
  readonly eventBusName: string;
  readonly arn: string;
  readonly eventPattern: EventPattern;
  readonly state: 'ENABLED' | 'DISABLED';
  readonly targets: RuleTarget[];
}

/** One accepted event and the rules it matched (`GET /_local/events`). */
export interface RecordedEvent {
  readonly eventBusName: string;
  readonly event: BusEvent;
  readonly matchedRules: readonly string[];
  /** Target deliveries that failed, with the reason (a missing queue, a refused SendMessage). */
  readonly failedDeliveries: readonly {
    readonly rule: string;
    readonly target: string;
    readonly error: string;
  }[];
}

export interface EventBridgeEmulatorOptions {
  /** Buses that exist from the start besides `default` (the twin passes the scope's `tenant-mail.<scope>`). */
  readonly eventBuses?: readonly string[];
  /** Where SQS targets (`arn:aws:sqs:…`) are delivered: the local fauxqs. Without it an SQS target fails. */
  readonly sqs?: SQSClient;
  /** Events kept for `/_local/events`, newest last. @default 1000 */
  readonly keep?: number;
  /** @default 0 (a free port) */
  readonly port?: number;
}

export interface EventBridgeEmulator {
  /** `http://127.0.0.1:<port>`: the endpoint for `EventBridgeClient` (AWS_ENDPOINT_URL_EVENTBRIDGE). */
  readonly url: string;
  /** Every accepted event, oldest first, with the rules it matched. */
  events(eventBusName?: string): readonly RecordedEvent[];
  rules(eventBusName?: string): readonly BusRule[];
  /**
   * Fault injection for tests (no AWS endpoint can be told to throttle): the next `count` entries of PutEvents
   * fail with `errorCode`, as EventBridge reports entries it refused (`FailedEntryCount`, entry `ErrorCode`).
   */
  failNextEntries(count: number, errorCode?: string): void;
  stop(): Promise<void>;
}

/** EventBridge's limits on PutEvents (AWS quotas): 10 entries, 256 KB an entry. */
const MAX_ENTRIES = 10;
const MAX_ENTRY_BYTES = 256 * 1024;

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Input = Record<string, unknown>;

/**
 * A small EventBridge for the local twin and tests, over the real AWS JSON 1.1 protocol (`X-Amz-Target:
 * AWSEvents.<Operation>`), so the deployed bundle's `EventBridgeClient` talks to it unchanged: CreateEventBus,
 * DescribeEventBus, ListEventBuses, PutEvents, PutRule, DescribeRule, ListRules, DeleteRule, PutTargets,
 * ListTargetsByRule, RemoveTargets, TestEventPattern. Rules match with `event-pattern.ts`; SQS targets are
 * delivered to fauxqs. `GET /_local/events` lists every accepted event with the rules it matched.
 * Differences from EventBridge: local/eventbridge/README.md.
 */
export async function startEventBridgeEmulator(
  options: EventBridgeEmulatorOptions = {},
): Promise<EventBridgeEmulator> {
  const buses = new Set(['default', ...(options.eventBuses ?? [])]);
  const rules = new Map<string, BusRule>();
  const recorded: RecordedEvent[] = [];
  const keep = options.keep ?? 1000;
  let faults: { count: number; code: string } = { count: 0, code: 'ThrottlingException' };
  const queueUrls = new Map<string, string>();

  const busArn = (name: string) => `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${name}`;
  const ruleKey = (bus: string, name: string) => `${bus}|${name}`;
  const busOf = (input: Input): string => {
    const raw = typeof input.EventBusName === 'string' && input.EventBusName ? input.EventBusName : 'default';
    const name = raw.startsWith('arn:') ? (raw.split('event-bus/')[1] ?? raw) : raw;
    if (!buses.has(name))
      throw new ApiError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return name;
  };
  const ruleOf = (input: Input): BusRule => {
    const bus = busOf(input);
    const name = String(input.Rule ?? input.Name ?? '');
    const rule = rules.get(ruleKey(bus, name));
    if (!rule)
      throw new ApiError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`);
    return rule;
  };
  const parsePattern = (text: unknown): EventPattern => {
    let pattern: unknown;
    try {
      pattern = JSON.parse(String(text));
    } catch {
      throw new ApiError('InvalidEventPatternException', 'Event pattern is not valid. Reason: not JSON');
    }
    try {
      validatePattern(pattern);
    } catch (error) {
      if (error instanceof InvalidEventPatternError)
        throw new ApiError('InvalidEventPatternException', error.message);
      throw error;
    }
    return pattern;
  };

  const queueUrlOf = async (arn: string): Promise<string> => {
    const known = queueUrls.get(arn);
    if (known) return known;
    if (!options.sqs) throw new Error('no SQS endpoint for SQS targets');
    const { QueueUrl } = await options.sqs.send(new GetQueueUrlCommand({ QueueName: arn.split(':')[5] }));
    const url = addressableQueueUrl(String(QueueUrl), await endpointOf(options.sqs));
    queueUrls.set(arn, url);
    return url;
  };
  const deliver = async (target: RuleTarget, event: BusEvent): Promise<void> => {
    const body = target.Input ?? JSON.stringify(event);
    if (!target.Arn.startsWith('arn:aws:sqs:'))
      throw new Error(`target type of ${target.Arn} is not emulated`);
    await options.sqs?.send(
      new SendMessageCommand({ QueueUrl: await queueUrlOf(target.Arn), MessageBody: body }),
    );
  };

  const putEvents = async (input: Input) => {
    const entries = Array.isArray(input.Entries) ? (input.Entries as Input[]) : [];
    if (entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
      );
    }
    const results: Input[] = [];
    // Entries are independent: each is accepted or refused on its own, answered in request order.
    for (const entry of entries) {
      if (faults.count > 0) {
        faults = { ...faults, count: faults.count - 1 };
        results.push({ ErrorCode: faults.code, ErrorMessage: 'Rate exceeded (injected locally)' });
        continue;
      }
      const refused = await putEntry(entry);
      results.push(refused ?? {});
    }
    return {
      FailedEntryCount: results.filter((r) => r.ErrorCode).length,
      Entries: results.map((r, i) =>
        r.ErrorCode ? r : { EventId: (r as { EventId?: string }).EventId ?? String(i) },
      ),
    };
  };

  const putEntry = async (entry: Input): Promise<Input | undefined> => {
    const { Source, DetailType, Detail } = entry;
    if (typeof Source !== 'string' || !Source)
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
      };
    if (typeof DetailType !== 'string' || !DetailType)
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
      };
    let detail: unknown;
    try {
      detail = JSON.parse(String(Detail));
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const size =
      Buffer.byteLength(Source) + Buffer.byteLength(DetailType) + Buffer.byteLength(String(Detail));
    if (size > MAX_ENTRY_BYTES)
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Total size of the entries in the request is over the limit.',
      };
    let bus: string;
    try {
      bus = busOf(entry);
    } catch (error) {
      return { ErrorCode: 'NotFoundException', ErrorMessage: (error as Error).message };
    }
    const time = entry.Time ? new Date(Number(entry.Time) * 1000 || String(entry.Time)) : new Date();
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': DetailType,
      source: Source,
      account: LOCAL_ACCOUNT,
      time: (Number.isNaN(time.getTime()) ? new Date() : time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_REGION,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail,
    };
    const matched = [...rules.values()].filter(
      (rule) =>
        rule.eventBusName === bus && rule.state === 'ENABLED' && matchesPattern(rule.eventPattern, event),
    );
    const failedDeliveries: { rule: string; target: string; error: string }[] = [];
    for (const rule of matched) {
      for (const target of rule.targets) {
        try {
          await deliver(target, event);
        } catch (error) {
          failedDeliveries.push({ rule: rule.name, target: target.Arn, error: (error as Error).message });
        }
      }
    }
    recorded.push({ eventBusName: bus, event, matchedRules: matched.map((r) => r.name), failedDeliveries });
    if (recorded.length > keep) recorded.splice(0, recorded.length - keep);
    return { EventId: event.id };
  };

  const operations: Record<string, (input: Input) => Promise<unknown> | unknown> = {
    CreateEventBus: (input) => {
      const name = String(input.Name ?? '');
      if (buses.has(name))
        throw new ApiError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
      buses.add(name);
      return { EventBusArn: busArn(name) };
    },
    DescribeEventBus: (input) => {
      const name = busOf({ EventBusName: input.Name });
      return { Name: name, Arn: busArn(name) };
    },
    ListEventBuses: () => ({ EventBuses: [...buses].map((name) => ({ Name: name, Arn: busArn(name) })) }),
    PutEvents: putEvents,
    PutRule: (input) => {
      const bus = busOf(input);
      const name = String(input.Name ?? '');
      if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(name))
        throw new ApiError('ValidationException', `Rule name ${name} is not valid.`);
      if (input.ScheduleExpression)
        throw new ApiError('ValidationException', 'Scheduled rules are run by the twin, not by this bus.');
      const existing = rules.get(ruleKey(bus, name));
      const arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
      rules.set(ruleKey(bus, name), {
        name,
        eventBusName: bus,
        arn,
        eventPattern: parsePattern(input.EventPattern),
        state: input.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
        targets: existing?.targets ?? [],
      });
      return { RuleArn: arn };
    },
    DescribeRule: (input) => describeRule(ruleOf(input)),
    ListRules: (input) => {
      const bus = busOf(input);
      const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
      return {
        Rules: [...rules.values()]
          .filter((rule) => rule.eventBusName === bus && rule.name.startsWith(prefix))
          .map(describeRule),
      };
    },
    DeleteRule: (input) => {
      const rule = ruleOf(input);
      if (rule.targets.length > 0)
        throw new ApiError('ValidationException', "Rule can't be deleted since it has targets.");
      rules.delete(ruleKey(rule.eventBusName, rule.name));
      return {};
    },
    PutTargets: (input) => {
      const rule = ruleOf(input);
      for (const target of (input.Targets ?? []) as RuleTarget[]) {
        const at = rule.targets.findIndex((t) => t.Id === target.Id);
        const kept: RuleTarget = {
          Id: target.Id,
          Arn: target.Arn,
          ...(target.Input ? { Input: target.Input } : {}),
        };
        if (at >= 0) rule.targets[at] = kept;
        else rule.targets.push(kept);
      }
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    ListTargetsByRule: (input) => ({ Targets: ruleOf(input).targets }),
    RemoveTargets: (input) => {
      const rule = ruleOf(input);
      const ids = new Set((input.Ids ?? []) as string[]);
      rule.targets.splice(0, rule.targets.length, ...rule.targets.filter((t) => !ids.has(t.Id)));
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    TestEventPattern: (input) => {
      const pattern = parsePattern(input.EventPattern);
      let event: unknown;
      try {
        event = JSON.parse(String(input.Event));
      } catch {
        throw new ApiError('InvalidEventPatternException', 'Event is not valid JSON');
      }
      return { Result: matchesPattern(pattern, event) };
    },
  };

  const reply = (
    response: ServerResponse,
    status: number,
    payload: unknown,
    type = 'application/x-amz-json-1.1',
  ) => {
    response.writeHead(status, { 'content-type': type });
    response.end(JSON.stringify(payload));
  };
  const server = createServer(async (request: IncomingMessage, response) => {
    if (request.method === 'GET' && request.url?.startsWith('/_local/events')) {
      const bus = new URL(request.url, 'http://local').searchParams.get('bus') ?? undefined;
      return reply(response, 200, { events: emulator.events(bus) }, 'application/json');
    }
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^AWSEvents\./, '');
    try {
      const handler = operations[operation];
      if (!handler) throw new ApiError('UnknownOperationException', `${operation} is not emulated locally`);
      return reply(response, 200, await handler(JSON.parse(text || '{}') as Input));
    } catch (error) {
      if (error instanceof ApiError)
        return reply(response, error.status, { __type: error.type, message: error.message });
      return reply(response, 500, { __type: 'InternalException', message: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const emulator: EventBridgeEmulator = {
    url: `http://127.0.0.1:${port}`,
    events: (bus) => recorded.filter((r) => !bus || r.eventBusName === bus),
    rules: (bus) => [...rules.values()].filter((r) => !bus || r.eventBusName === bus),
    failNextEntries(count, errorCode = 'ThrottlingException') {
      faults = { count, code: errorCode };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return emulator;
}

function describeRule(rule: BusRule) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventBusName: rule.eventBusName,
    EventPattern: JSON.stringify(rule.eventPattern),
    State: rule.state,
  };
}
