import { createHash } from 'node:crypto';
import {
  describeIssues,
  idempotencyKeyOf,
  laneMessage,
  laneMessageFromBody,
  messageIdFor,
  sendRequestSchema,
} from '../../../lambdas/domain/sending/send-request';

const valid = {
  tenantId: 'acme',
  environment: 'developer-sandbox',
  to: ['ap@customer.example'],
  subject: 'Invoice INV-1 posted',
  text: 'Your invoice is ready.',
};

const reasonFor = (input: unknown) => {
  const result = sendRequestSchema.safeParse(input);
  if (result.success) throw new Error('expected the request to be rejected');
  return describeIssues(result.error);
};

describe('send request validation', () => {
  it('accepts a composed email and fills defaults', () => {
    expect(sendRequestSchema.parse(valid)).toMatchObject({
      type: 'email',
      cc: [],
      bcc: [],
      category: 'transactional',
      headers: {},
    });
  });

  it.each([
    [
      'subject',
      { ...valid, subject: 'Hello\r\nBcc: victim@example.com' },
      'subject: must not contain a line break (CR or LF)',
    ],
    [
      'a recipient',
      { ...valid, to: ['a@example.com\nBcc: x@example.com'] },
      'must not contain a line break (CR or LF)',
    ],
    [
      'a custom header value',
      { ...valid, headers: { 'X-Invoice': 'INV-1\r\nX-Evil: 1' } },
      'must not contain a line break (CR or LF)',
    ],
  ])('rejects CR/LF in %s as header injection', (_, input, reason) => {
    expect(reasonFor(input)).toContain(reason);
  });

  it('rejects custom headers that would override who the mail is from or to', () => {
    expect(reasonFor({ ...valid, headers: { 'Reply-To': 'x@evil.example' } })).toContain(
      'custom headers must be X- headers',
    );
  });

  it('rejects more than 50 recipients across to, cc and bcc', () => {
    const many = Array.from({ length: 26 }, (_, i) => `r${i}@example.com`);
    expect(reasonFor({ ...valid, to: many, cc: many })).toContain(
      'at most 50 recipients (to + cc + bcc) per email',
    );
  });

  it('accepts exactly 50 recipients, counting bcc like to and cc', () => {
    const addresses = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com`);
    expect(
      sendRequestSchema.safeParse({
        ...valid,
        to: addresses(20, 't'),
        cc: addresses(20, 'c'),
        bcc: addresses(10, 'b'),
      }).success,
    ).toBe(true);
    expect(
      reasonFor({ ...valid, to: addresses(20, 't'), cc: addresses(20, 'c'), bcc: addresses(11, 'b') }),
    ).toContain('at most 50 recipients');
  });

  it('takes html without text, and text without html', () => {
    const { text: _, ...htmlOnly } = valid;
    expect(sendRequestSchema.safeParse({ ...htmlOnly, html: '<p>ready</p>' }).success).toBe(true);
    expect(sendRequestSchema.safeParse(valid).success).toBe(true);
  });

  it('names the field of each issue, or (message) for one about the whole email', () => {
    expect(reasonFor('not an object')).toMatch(/^\(message\): /);
    expect(reasonFor({ ...valid, to: [], subject: '' })).toMatch(/^[a-z.0-9]+: .+; [a-z.0-9]+: .+/);
  });

  it('requires a recipient, a body, and a known environment', () => {
    expect(reasonFor({ ...valid, to: [] })).toContain('at least one recipient is required');
    expect(reasonFor({ ...valid, text: undefined })).toContain('html or text is required');
    expect(reasonFor({ ...valid, environment: 'staging' })).toContain('environment:');
  });

  it('rejects malformed addresses', () => {
    expect(reasonFor({ ...valid, to: ['not-an-address'] })).toContain(
      'to.0: email address "not-an-address" is not of the form local@domain',
    );
  });

  it('derives a 32-hex-digit message id from tenant and key (the first 128 bits of their SHA-256)', () => {
    const full = createHash('sha256').update('acme\u0000k1').digest('hex');
    expect(messageIdFor('acme', 'k1')).toBe(full.slice(0, 32));
  });

  it('keys a body without an idempotency key by the first 160 bits of its SHA-256, never by the queue message', () => {
    const body = JSON.stringify(valid);
    const hash = createHash('sha256').update(body).digest('hex');
    expect(idempotencyKeyOf({}, body)).toBe(`body:${hash.slice(0, 40)}`);
    expect(idempotencyKeyOf({ idempotencyKey: 'inv-1' }, body)).toBe('inv-1');
  });

  it('derives the same message id for the same tenant and key, and different ones otherwise', () => {
    expect(messageIdFor('acme', 'k1')).toBe(messageIdFor('acme', 'k1'));
    expect(messageIdFor('acme', 'k1')).not.toBe(messageIdFor('acme', 'k2'));
    expect(messageIdFor('acme', 'k1')).not.toBe(messageIdFor('globex', 'k1'));
  });
});

describe('laneMessageFromBody (a kept request or a dead-lettered body put back on a lane)', () => {
  it('puts a valid body back under its own key, so the copy is the same email', () => {
    const request = sendRequestSchema.parse({ ...valid, category: 'bulk', idempotencyKey: 'inv-7' });
    const original = laneMessage(request, 'inv-7');
    expect(laneMessageFromBody(original.body)).toEqual(original);
    // Without a key the body's hash is the key: the same bytes always give the same message.
    const unkeyed = JSON.stringify(valid);
    expect(laneMessageFromBody(unkeyed)).toEqual(
      laneMessage(sendRequestSchema.parse(valid), idempotencyKeyOf({}, unkeyed)),
    );
  });

  it('returns an invalid body as it is, under the id of its hash, with the tenant and lane it names', () => {
    const body = JSON.stringify({ tenantId: 'acme', category: 'bulk', to: ['nope'] });
    expect(laneMessageFromBody(body)).toEqual({
      messageId: messageIdFor('_invalid', idempotencyKeyOf({}, body)),
      tenantId: 'acme',
      category: 'bulk',
      body,
    });
  });

  it.each([
    ['not JSON', '{"tenantId": "acme",', '_invalid', 'transactional'],
    ['JSON null', 'null', '_invalid', 'transactional'],
    ['a tenant that is not a string', JSON.stringify({ tenantId: 7, category: 'bulk' }), '_invalid', 'bulk'],
    ['a tenant id longer than 64', JSON.stringify({ tenantId: 'x'.repeat(65) }), '_invalid', 'transactional'],
    ['a tenant id of 64', JSON.stringify({ tenantId: 'x'.repeat(64) }), 'x'.repeat(64), 'transactional'],
    [
      'an unknown category',
      JSON.stringify({ tenantId: 'acme', category: 'urgent' }),
      'acme',
      'transactional',
    ],
  ])('keeps %s on a lane it can name', (_, body, tenantId, category) => {
    expect(laneMessageFromBody(body)).toEqual({
      messageId: messageIdFor('_invalid', idempotencyKeyOf({}, body)),
      tenantId,
      category,
      body,
    });
  });
});
