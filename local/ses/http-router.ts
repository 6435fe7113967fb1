import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SesApiError } from './api-errors';

/** One parsed HTTP request, as an operation handler sees it. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /** Decoded values of the `{Label}` segments of the matched route. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The JSON body (an empty object when there is none). */
  readonly body: Record<string, unknown>;
}

/** A JSON answer (the default) or any other content type for the local viewer. */
export type ApiResponse =
  | { readonly status?: number; readonly json: unknown }
  | { readonly status?: number; readonly contentType: string; readonly text: string };

export type Handler = (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: Handler;
}

/**
 * 60 MiB: room for SES v2's 40 MB raw-message limit (checked by SendEmail on the base64 text) plus
 * the JSON around it, so an oversize message gets SES's own error rather than a dropped connection.
 */
const MAX_BODY_BYTES = 60 * 1024 * 1024;

/** Routes REST-JSON requests by method and path template, the way the SES v2 service model binds them. */
export class HttpRouter {
  private readonly routes: Route[] = [];

  add(method: string, template: string, handler: Handler): this {
    this.routes.push({ method, segments: template.split('/').filter(Boolean), handler });
    return this;
  }

  /** Node `request` listener: parses, dispatches, and writes the answer or the SES error shape. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.handle(req, res);
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toUpperCase();
      const match = this.match(method, url.pathname);
      if (!match) {
        throw new SesApiError(
          'BadRequestException',
          `The local SES emulator does not implement ${method} ${url.pathname}`,
        );
      }
      const body = await readJson(req);
      const response = await match.route.handler({
        method,
        path: url.pathname,
        params: match.params,
        query: url.searchParams,
        body,
      });
      const status = response.status ?? 200;
      if ('json' in response) {
        send(res, status, 'application/json', JSON.stringify(response.json ?? {}), requestId);
      } else {
        send(res, status, response.contentType, response.text, requestId);
      }
    } catch (error) {
      const apiError =
        error instanceof SesApiError
          ? error
          : new SesApiError('InternalServiceErrorException', `Emulator failure: ${String(error)}`, {
              cause: error,
            });
      res.setHeader('x-amzn-errortype', apiError.code);
      send(
        res,
        apiError.status,
        'application/json',
        JSON.stringify({ message: apiError.message }),
        requestId,
      );
    }
  }

  private match(
    method: string,
    pathname: string,
  ): { route: Route; params: Record<string, string> } | undefined {
    const parts = pathname.split('/').filter(Boolean);
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const matched = route.segments.every((segment, i) => {
        const part = parts[i] ?? '';
        if (segment.startsWith('{') && segment.endsWith('}')) {
          params[segment.slice(1, -1)] = decodeURIComponent(part);
          return true;
        }
        return segment === part;
      });
      if (matched) return { route, params };
    }
    return undefined;
  }
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  requestId: string,
): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('x-amzn-requestid', requestId);
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new SesApiError('MessageRejected', 'Message length is more than 40 MB.');
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new SesApiError('BadRequestException', 'The request body is not a JSON object.');
}
