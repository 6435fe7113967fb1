import fc from 'fast-check';
import { billRunCompleted, type InvoiceData } from '../../../client/publisher-events';
import { CONTINUATION_HEADROOM_BYTES, prepareMessage } from '../../../client/publisher-parts';
import { DISPATCH_CURSOR_ATTRIBUTE } from '../../../lambdas/domain/notifications/dispatch-events';
import { parseNotificationEvent } from '../../../lambdas/domain/notifications/event-schema';

// Pure: no emulator needed. It lives next to the publisher's integration tests it backs.

const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), // multi-byte UTF-8
);

const invoiceArb: fc.Arbitrary<InvoiceData> = fc.record({
  invoiceId: text,
  invoiceNumber: text,
  accountId: text,
  accountName: text,
  invoiceDate: fc.constant('2025-03-01'),
  dueDate: fc.constant('2025-03-31'),
  currency: fc.constant('EUR'),
  amount: fc.constantFrom('0.00', '99.00', '-12.5', '123456789012345.123456'),
  billTo: fc.record({ name: text, email: text }),
});

/** What the dispatcher puts back on the queue for a continuation: the event re-serialised, with its cursor. */
const continuation = (body: string) =>
  JSON.stringify({
    ...JSON.parse(body),
    [DISPATCH_CURSOR_ATTRIBUTE]: `${'d'.repeat(64)}:${Number.MAX_SAFE_INTEGER}`,
  });

describe('bill-run parts', () => {
  it('splits any bill run into valid, numbered parts under the limit that carry every invoice once, in order', () => {
    fc.assert(
      fc.property(
        fc.array(invoiceArb, { maxLength: 80, size: 'max' }),
        fc.integer({ min: 4_000, max: 20_000 }),
        // Long ids too: a part id then nearly fills the 256 characters the split reserves for it.
        fc.oneof(
          fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
          fc.stringMatching(/^[\x21-\x7e]{236,240}$/),
          fc.stringMatching(/^["\\]{236,240}$/), // each one escaped to two bytes in JSON
        ),
        (invoices, maxMessageBytes, id) => {
          const message = billRunCompleted(
            { tenantId: 'acme', environment: 'production', source: 'https://billing.example', id },
            { billRunId: 'br-1', targetDate: '2025-03-01', invoices },
          );
          const prepared = prepareMessage(message, maxMessageBytes);
          if (!prepared.ok) throw new Error(prepared.reason);
          const { messages } = prepared;
          const bodies = messages.map((m) => JSON.parse(m.body) as Record<string, unknown>);
          for (const [i, m] of messages.entries()) {
            expect(m.bytes).toBe(Buffer.byteLength(m.body));
            expect(Buffer.byteLength(continuation(m.body))).toBeLessThanOrEqual(maxMessageBytes);
            const event = parseNotificationEvent(bodies[i]);
            expect(event.id).toBe(m.id);
            if (messages.length > 1)
              expect(event.data.part).toEqual({ index: i + 1, count: messages.length });
          }
          if (messages.length === 1) {
            expect(messages[0]?.id).toBe(id);
            expect(messages[0]?.part).toBeUndefined();
          }
          expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
          expect(bodies.flatMap((b) => (b.data as { invoices: unknown[] }).invoices)).toEqual(invoices);
          // The same input always gives the same parts and ids, so a repeated publish dedupes downstream.
          const again = prepareMessage(message, maxMessageBytes);
          expect(again.ok && again.messages.map((m) => m.id)).toEqual(messages.map((m) => m.id));
        },
      ),
      { numRuns: 150, endOnFailure: true },
    );
  });

  it('refuses an invoice that cannot fit in any part, naming it', () => {
    const big = { ...smallInvoice(), invoiceId: 'i2', notes: 'y'.repeat(5_000) }; // extra fields are kept
    const prepared = prepareMessage(
      billRunCompleted(
        { tenantId: 'acme', environment: 'production', source: 's' },
        { billRunId: 'br', targetDate: '2025-03-01', invoices: [smallInvoice(), big] },
      ),
      4_000,
    );
    expect(prepared).toMatchObject({ ok: false, code: 'MESSAGE_TOO_LARGE' });
    expect(!prepared.ok && prepared.reason).toMatch(/^data\.invoices\[1\] alone/);
  });

  it('leaves room for the longest continuation cursor', () => {
    expect(Buffer.byteLength(continuation('{}')) - 2).toBeLessThanOrEqual(CONTINUATION_HEADROOM_BYTES);
  });
});

function smallInvoice(): InvoiceData {
  return {
    invoiceId: 'i1',
    invoiceNumber: 'N1',
    accountId: 'a1',
    invoiceDate: '2025-03-01',
    dueDate: '2025-03-31',
    currency: 'EUR',
    amount: '1.00',
    billTo: { email: 'success@simulator.amazonses.com' },
  };
}
