import { badRequest } from './api-errors';

/** Readers for JSON request members that answer a wrong type the way SES does, with BadRequestException. */
export function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be a string.`);
  return value;
}

export function requiredString(body: Record<string, unknown>, name: string): string {
  const value = optionalString(body, name);
  if (value === undefined || value === '') throw badRequest(`Missing required field ${name}.`);
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${name} must be a boolean.`);
  return value;
}

export function optionalObject(
  body: Record<string, unknown>,
  name: string,
): Record<string, unknown> | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${name} must be an object.`);
  return value as Record<string, unknown>;
}

export function stringList(body: Record<string, unknown>, name: string): string[] {
  const value = body[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw badRequest(`${name} must be a list of strings.`);
  }
  return value as string[];
}

export function objectList(body: Record<string, unknown>, name: string): Record<string, unknown>[] {
  const value = body[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => !item || typeof item !== 'object')) {
    throw badRequest(`${name} must be a list of objects.`);
  }
  return value as Record<string, unknown>[];
}

/** SES v2 `Tags`: a list of `{ Key, Value }`. */
export function tagList(body: Record<string, unknown>): { Key: string; Value: string }[] {
  return objectList(body, 'Tags').map((tag) => ({
    Key: requiredString(tag, 'Key'),
    Value: optionalString(tag, 'Value') ?? '',
  }));
}

/** Epoch seconds, the timestamp format of SES v2's REST-JSON bodies. */
export const epochSeconds = (ms: number): number => ms / 1000;

/** Simple offset pagination with an opaque NextToken, as the List operations use. */
export function paginate<T>(
  items: readonly T[],
  nextToken: string | undefined,
  pageSize: number | undefined,
) {
  const start = nextToken ? Number.parseInt(Buffer.from(nextToken, 'base64').toString('utf8'), 10) : 0;
  if (Number.isNaN(start) || start < 0) throw badRequest('The NextToken is not valid.');
  const size = pageSize && pageSize > 0 ? pageSize : 1000;
  const page = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
  return { page, ...(next ? { NextToken: next } : {}) };
}
