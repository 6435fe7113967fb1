import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseComposedEmail } from '../../../lambdas/domain/notifications/composed-email-schema';
import {
  EVENT_TYPES,
  parseNotificationEvent,
  parseNotificationEventJson,
} from '../../../lambdas/domain/notifications/event-schema';
import { parseInboundMessage } from '../../../lambdas/domain/notifications/inbound-message';
import {
  InvalidComposedEmailError,
  InvalidEventError,
} from '../../../lambdas/domain/notifications/notification-errors';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../fixtures/events', name), 'utf8'));

const invoiceEvent = () => fixture('invoice-posted.event.json');

function issuesOf(input: unknown): string[] {
  try {
    parseNotificationEvent(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    const invalid = error as InvalidEventError;
    expect(invalid.code).toBe('INVALID_EVENT');
    expect(invalid.kind).toBe('permanent');
    return invalid.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  throw new Error('expected the event to be rejected');
}

describe('parseNotificationEvent', () => {
  it.each([
    'invoice-posted',
    'payment-processed',
    'account-statement-processed',
    'bill-run-completed',
    'custom-subscription-renewed',
  ])('accepts the documented %s example', (name) => {
    const event = parseNotificationEvent(fixture(`${name}.event.json`));
    expect(event.tenantid).toBe('acme');
    expect(event.environment).toBe('production');
  });

  it('keeps extra data fields so templates can use them', () => {
    const input = invoiceEvent();
    input.data = { ...(input.data as object), purchaseOrder: 'PO-7' };
    expect(parseNotificationEvent(input).data.purchaseOrder).toBe('PO-7');
  });

  it('accepts any JSON object as data of a custom reverse-DNS type', () => {
    const event = parseNotificationEvent({
      ...invoiceEvent(),
      type: 'com.acme.usage.threshold-reached',
      data: { x: 1 },
    });
    expect(event.data).toEqual({ x: 1 });
  });

  it('names the missing tenantid and the unknown environment', () => {
    const { tenantid: _dropped, ...input } = invoiceEvent();
    const issues = issuesOf({ ...input, environment: 'staging' });
    expect(issues).toContainEqual(expect.stringMatching(/^tenantid: /));
    expect(issues).toContainEqual(
      'environment: must be one of production, api-sandbox, developer-sandbox, central-sandbox',
    );
  });

  it('rejects a specversion other than 1.0 and a time without offset', () => {
    const issues = issuesOf({ ...invoiceEvent(), specversion: '0.3', time: '2025-03-01 09:30' });
    expect(issues).toContainEqual('specversion: must be "1.0" (CloudEvents 1.0)');
    expect(issues).toContainEqual(expect.stringMatching(/^time: must be an RFC 3339 timestamp/));
  });

  it('rejects an unknown type inside the reserved com.tenantmail namespace', () => {
    const issues = issuesOf({ ...invoiceEvent(), type: 'com.tenantmail.invoice.deleted' });
    expect(issues).toContainEqual(
      expect.stringMatching(/^type: is in the reserved com\.tenantmail\. namespace/),
    );
  });

  it('rejects a type that is not a reverse-DNS name', () => {
    expect(issuesOf({ ...invoiceEvent(), type: 'InvoicePosted' })).toContainEqual(
      expect.stringMatching(/^type: must be a reverse-DNS name/),
    );
  });

  it('rejects non-JSON data content types', () => {
    expect(issuesOf({ ...invoiceEvent(), datacontenttype: 'application/xml' })).toContainEqual(
      'datacontenttype: must be a JSON media type (application/json)',
    );
  });

  it('points at the invalid invoice inside a bill run by index', () => {
    const input = fixture('bill-run-completed.event.json');
    const data = input.data as { invoices: Record<string, unknown>[] };
    data.invoices[2] = { ...data.invoices[2], currency: 'euro', amount: 12.5 };
    const issues = issuesOf(input);
    expect(issues).toContainEqual(
      'data.invoices[2].currency: must be a 3-letter ISO 4217 code such as "EUR"',
    );
    expect(issues).toContainEqual(expect.stringMatching(/^data\.invoices\[2\]\.amount: /));
  });

  it('reports data problems together with envelope problems', () => {
    const input: Record<string, unknown> = { ...invoiceEvent(), environment: 'qa' };
    (input.data as Record<string, unknown>).dueDate = '31/03/2025';
    const issues = issuesOf(input);
    expect(issues).toContainEqual(expect.stringMatching(/^environment: /));
    expect(issues).toContainEqual('data.dueDate: must be a date as YYYY-MM-DD');
  });

  it('does not reject an event because a bill-to address is malformed (that is a per-email rejection)', () => {
    const input = invoiceEvent();
    (input.data as { billTo: { email: string } }).billTo.email = 'not an address';
    expect(() => parseNotificationEvent(input)).not.toThrow();
  });

  it('lists the issues in the error message', () => {
    expect(() => parseNotificationEvent({ ...invoiceEvent(), id: '' })).toThrow(
      'invalid event: id: must not be empty',
    );
  });

  it('rejects a body that is not JSON as an invalid event', () => {
    expect(() => parseNotificationEventJson('{"specversion":')).toThrow(InvalidEventError);
  });

  it('exposes the four well-known types under one naming scheme', () => {
    expect(Object.values(EVENT_TYPES)).toEqual([
      'com.tenantmail.invoice.posted',
      'com.tenantmail.payment.processed',
      'com.tenantmail.account-statement.processed',
      'com.tenantmail.bill-run.completed',
    ]);
  });
});

describe('parseComposedEmail', () => {
  const composed = () => fixture('composed-email.json');

  function composedIssues(input: unknown): string[] {
    try {
      parseComposedEmail(input);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidComposedEmailError);
      expect((error as InvalidComposedEmailError).code).toBe('INVALID_EMAIL');
      return (error as InvalidComposedEmailError).issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
    throw new Error('expected the email to be rejected');
  }

  it('accepts the documented example and normalises recipients', () => {
    const email = parseComposedEmail(composed());
    expect(email.to).toEqual([{ email: 'success+ann@simulator.amazonses.com', name: 'Ann Example' }]);
    expect(email.cc).toEqual([]);
  });

  it('defaults the category to transactional and accepts plain address strings', () => {
    const { category: _dropped, ...input } = composed();
    const email = parseComposedEmail({ ...input, to: ['a@b.example'] });
    expect(email.category).toBe('transactional');
    expect(email.to).toEqual([{ email: 'a@b.example' }]);
  });

  it.each([
    [
      'subject',
      { subject: 'Hello\r\nBcc: victim@evil.example' },
      'subject: must not contain a line break (CR or LF)',
    ],
    [
      'a display name',
      { to: [{ email: 'a@b.example', name: 'Ann\nBcc: x@evil.example' }] },
      'to[0].name: must not contain a line break (CR or LF)',
    ],
    [
      'a custom header value',
      { headers: { 'X-Request-Id': 'r1\nBcc: x@evil.example' } },
      'headers.X-Request-Id: must not contain a line break (CR or LF)',
    ],
  ])('rejects a line break in %s', (_what, patch, issue) => {
    expect(composedIssues({ ...composed(), ...patch })).toContainEqual(issue);
  });

  it('rejects an address with a line break or without a domain', () => {
    const issues = composedIssues({ ...composed(), to: ['a@b.example\r\nBcc: x@evil.example', 'nobody'] });
    expect(issues).toContainEqual(
      expect.stringMatching(/^to\[0\]\.email: email address .* must not contain a line break/),
    );
    expect(issues).toContainEqual('to[1].email: email address "nobody" is not of the form local@domain');
  });

  it('rejects more than 50 recipients across to, cc and bcc', () => {
    const many = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => `${prefix}${i}@b.example`);
    expect(
      composedIssues({ ...composed(), to: many('to', 20), cc: many('cc', 20), bcc: many('bcc', 11) }),
    ).toContainEqual('to: to, cc and bcc hold 51 recipients; at most 50 are allowed');
  });

  it('refuses headers that would override structural or SES headers', () => {
    const issues = composedIssues({
      ...composed(),
      headers: { From: 'x@evil.example', 'X-SES-CONFIGURATION-SET': 'x' },
    });
    expect(issues).toContainEqual(expect.stringMatching(/^headers\.From: header "From" is not allowed/));
    expect(issues).toContainEqual(
      expect.stringMatching(/^headers\.X-SES-CONFIGURATION-SET: .*prefix is reserved/),
    );
  });

  it('requires html or text', () => {
    const { html: _h, text: _t, ...input } = composed();
    expect(composedIssues(input)).toContainEqual('html: html or text (or both) is required');
  });
});

describe('parseInboundMessage', () => {
  it('recognises a CloudEvent by its specversion', () => {
    const message = parseInboundMessage(JSON.stringify(invoiceEvent()));
    expect(message.kind).toBe('event');
  });

  it('treats anything else as a composed email and names its fields in errors', () => {
    expect(parseInboundMessage(JSON.stringify(fixture('composed-email.json'))).kind).toBe('composed-email');
    expect(() => parseInboundMessage('{"tenantId":"acme"}')).toThrow(InvalidComposedEmailError);
  });

  it('rejects a body that is not JSON', () => {
    expect(() => parseInboundMessage('not json')).toThrow(/body is not JSON/);
  });
});
