import {
  describeIssues,
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

  it('derives the same message id for the same tenant and key, and different ones otherwise', () => {
    expect(messageIdFor('acme', 'k1')).toBe(messageIdFor('acme', 'k1'));
    expect(messageIdFor('acme', 'k1')).not.toBe(messageIdFor('acme', 'k2'));
    expect(messageIdFor('acme', 'k1')).not.toBe(messageIdFor('globex', 'k1'));
  });
});
