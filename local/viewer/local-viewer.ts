import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FAILED_STATUSES } from '../../client/history-rules';
import type { StoredMessageJson } from '../ses/emulator-store';
import { createDkimChecker } from './dkim-check';
import { parseMessage } from './mime-parts';
import { readStatusEvents, statusEventsPage, statusEventsSection } from './status-events-view';
import { type MessageRecord, type TenantSummary, ViewerData, type ViewerTables } from './viewer-data';
import { errorPage, type ListFilters, listPage, messagePage } from './viewer-pages';

export interface LocalViewerOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Document client pointed at the twin's DynamoDB. */
  readonly documents: DynamoDBDocumentClient;
  /** Physical table names (the scope's `messages`, `tenants`, `counters`, `suppressions` tables). */
  readonly tables: ViewerTables;
  /** Base URL of the SES emulator (`GET <sesUrl>/_local/messages`); without it, only records are shown. */
  readonly sesUrl?: string;
  /** The scope's EventBridge emulator: message pages show their status events, `/events` lists them all. */
  readonly eventBridgeUrl?: string;
  /** DNS server DKIM keys are looked up on, `'host:port'` (the twin's local DNS). @default the system resolver */
  readonly dnsServer?: string;
  /** Most message records read per page view (the list is a Scan locally). @default 5000 */
  readonly maxRecords?: number;
  /** Rows per page of the list. @default 50 */
  readonly pageSize?: number;
  /** Tenants whose counters the unfiltered overview shows (the busiest). @default 25 */
  readonly maxTenantCounters?: number;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

export interface LocalViewer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Pages carry no script; this policy keeps it so even if markup slipped through (the email iframe inherits it).
 * `frame-ancestors 'self'`, not 'none': the sandboxed srcdoc iframe of an email body inherits the policy and
 * would otherwise be blocked from rendering.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

class NotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFound';
  }
}

const positiveInt = (value: string | null, fallback: number) => {
  const parsed = Number.parseInt(value ?? '', 10);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
};

const tagValue = (message: StoredMessageJson, name: string) =>
  message.emailTags.find((tag) => tag.Name === name)?.Value;

/**
 * The local mail viewer of the twin: a small server-rendered site on 127.0.0.1 listing the emails the stack
 * recorded (messages table) joined with what the SES emulator accepted, per-tenant counters, and per message
 * its timeline, rendered body (sandboxed, no scripts), raw source and DKIM verification. `/api/messages` gives
 * the list as JSON. Read-only: it never writes to the tables or the emulator.
 */
export async function startLocalViewer(options: LocalViewerOptions): Promise<LocalViewer> {
  const maxRecords = options.maxRecords ?? 5_000;
  const pageSize = options.pageSize ?? 50;
  const maxTenantCounters = options.maxTenantCounters ?? 25;
  const clock = options.clock ?? (() => new Date());
  const data = new ViewerData({
    documents: options.documents,
    tables: options.tables,
    ...(options.sesUrl ? { sesUrl: options.sesUrl.replace(/\/$/, '') } : {}),
    maxRecords,
    clock,
  });
  const dkim = createDkimChecker(options.dnsServer);

  const list = async (query: URLSearchParams) => {
    const tenant = query.get('tenant')?.trim() || undefined;
    const [{ records, truncated }, ses, tenants] = await Promise.all([
      data.records(tenant),
      data.sesMessages(),
      data.tenants(),
    ]);
    const filters: ListFilters = {
      ...(query.get('status') ? { status: query.get('status') ?? '' } : {}),
      ...(query.get('failed') === '1' ? { failed: true } : {}),
      ...(query.get('recipient')?.trim() ? { recipient: query.get('recipient')?.trim() ?? '' } : {}),
    };
    const needle = filters.recipient?.toLowerCase();
    const rows = data
      .rows(records, ses.messages, tenant)
      .filter((row) => !filters.status || row.status === filters.status)
      .filter((row) => !filters.failed || (FAILED_STATUSES as readonly string[]).includes(row.status))
      .filter((row) => !needle || row.recipients.some((to) => to.toLowerCase().includes(needle)));
    const pageCount = Math.max(1, Math.ceil(rows.length / pageSize));
    const page = Math.min(positiveInt(query.get('page'), 1), pageCount);
    return {
      tenant,
      filters,
      records,
      truncated,
      tenants,
      sesError: ses.error,
      rows,
      page,
      pageCount,
      pageRows: rows.slice((page - 1) * pageSize, page * pageSize),
    };
  };

  const counters = async (
    tenant: string | undefined,
    tenants: readonly TenantSummary[],
    records: readonly MessageRecord[],
  ) => {
    const known = new Map(tenants.map((entry) => [entry.tenantId, entry]));
    const emails = new Map<string, number>();
    for (const record of records) emails.set(record.tenantId, (emails.get(record.tenantId) ?? 0) + 1);
    const ids = tenant
      ? [tenant]
      : [...new Set([...known.keys(), ...emails.keys()])].sort(
          (a, b) => (emails.get(b) ?? 0) - (emails.get(a) ?? 0) || a.localeCompare(b),
        );
    const shown = ids.slice(0, maxTenantCounters);
    const result = await Promise.all(
      shown.map((id) => data.counters(known.get(id) ?? { tenantId: id, pausedIn: [] }, records)),
    );
    return { counters: result, hidden: ids.length - shown.length };
  };

  const routes = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const send = (status: number, contentType: string, body: string) => {
      response.writeHead(status, { 'content-type': contentType, ...SECURITY_HEADERS });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(
        405,
        'text/html; charset=utf-8',
        errorPage('Method not allowed', 'The viewer is read-only.'),
      );
    }
    if (url.pathname === '/') {
      const view = await list(url.searchParams);
      const summary = await counters(view.tenant, view.tenants, view.records);
      return send(
        200,
        'text/html; charset=utf-8',
        listPage({
          rows: view.pageRows,
          total: view.rows.length,
          page: view.page,
          pageCount: view.pageCount,
          truncated: view.truncated,
          maxRecords,
          ...(view.tenant ? { tenant: view.tenant } : {}),
          filters: view.filters,
          tenants: view.tenants,
          counters: summary.counters,
          countersHidden: summary.hidden,
          ...(view.sesError ? { sesError: view.sesError } : {}),
        }),
      );
    }
    if (url.pathname === '/api/messages') {
      const view = await list(url.searchParams);
      return send(
        200,
        'application/json; charset=utf-8',
        JSON.stringify({
          messages: view.pageRows,
          total: view.rows.length,
          page: view.page,
          pageCount: view.pageCount,
          truncated: view.truncated,
          ...(view.sesError ? { sesError: view.sesError } : {}),
        }),
      );
    }
    if (url.pathname === '/events' && options.eventBridgeUrl) {
      const events = await readStatusEvents(options.eventBridgeUrl);
      return send(200, 'text/html; charset=utf-8', statusEventsPage(events.rows, events.error));
    }
    const match = /^\/messages\/([^/]+)$/.exec(url.pathname);
    if (match?.[1]) {
      let id: string;
      try {
        id = decodeURIComponent(match[1]);
      } catch {
        throw new NotFound('That message id is not valid.');
      }
      const [record, ses, events] = await Promise.all([
        data.record(id),
        data.sesMessages(),
        options.eventBridgeUrl ? readStatusEvents(options.eventBridgeUrl, id) : undefined,
      ]);
      const sent = ses.messages.find(
        (message) =>
          (record?.sesMessageId !== undefined && message.messageId === record.sesMessageId) ||
          tagValue(message, 'message-id') === id ||
          (!record && message.messageId === id),
      );
      if (!record && !sent)
        throw new NotFound(`No message with id ${id} in the messages table or the SES emulator.`);
      let checks: Awaited<ReturnType<typeof dkim.verify>> | undefined;
      let dkimError: string | undefined;
      if (sent) {
        try {
          checks = await dkim.verify(Buffer.from(sent.rawBase64, 'base64'));
        } catch (error) {
          dkimError = (error as Error).message;
        }
      }
      return send(
        200,
        'text/html; charset=utf-8',
        messagePage({
          id,
          ...(record ? { record } : {}),
          ...(sent ? { ses: sent, parsed: parseMessage(sent.raw) } : {}),
          ...(checks ? { dkim: checks } : {}),
          ...(dkimError ? { dkimError } : {}),
          ...(ses.error && !sent ? { sesError: ses.error } : {}),
          ...(events ? { statusEvents: statusEventsSection(events.rows, events.error) } : {}),
        }),
      );
    }
    throw new NotFound(`Nothing at ${url.pathname}.`);
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    routes(request, response, url).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const notFound = error instanceof NotFound;
      const message = notFound ? error.message : `The viewer failed: ${(error as Error).message}`;
      response.writeHead(notFound ? 404 : 500, {
        'content-type': 'text/html; charset=utf-8',
        ...SECURITY_HEADERS,
      });
      response.end(errorPage(notFound ? 'Not found' : 'Error', message));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
