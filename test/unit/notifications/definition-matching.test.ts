import {
  type AcceptedEmailJob,
  type EmailJob,
  evaluateFilter,
  expandJobs,
  fanOutSize,
  matchDefinitions,
  type RejectedEmailJob,
} from '../../../lambdas/domain/notifications/definition-matching';
import {
  type Definition,
  type DefinitionInput,
  parseDefinition,
} from '../../../lambdas/domain/notifications/definition-schema';
import {
  EVENT_TYPES,
  type NotificationEvent,
  parseNotificationEvent,
} from '../../../lambdas/domain/notifications/event-schema';
import { resolveJsonPath } from '../../../lambdas/domain/notifications/json-path';
import { InvalidDefinitionError } from '../../../lambdas/domain/notifications/notification-errors';

function invoice(n: number, email: unknown = `ap-${n}@customer-${n}.example`) {
  return {
    invoiceId: `inv-${n}`,
    invoiceNumber: `INV-${String(n).padStart(6, '0')}`,
    accountId: `A-${n}`,
    invoiceDate: '2025-03-01',
    dueDate: '2025-03-31',
    currency: 'EUR',
    amount: n % 10 === 0 ? '0.00' : '10.00',
    billTo: { name: `Customer ${n}`, email },
  };
}

function event(type: string, data: Record<string, unknown>, overrides: Partial<NotificationEvent> = {}) {
  return parseNotificationEvent({
    specversion: '1.0',
    id: 'evt-1',
    source: 'https://billing.platform.example',
    type,
    time: '2025-03-01T06:00:00Z',
    tenantid: 'acme',
    environment: 'production',
    data,
    ...overrides,
  });
}

const billRun = (count: number, make = invoice) =>
  event(EVENT_TYPES.BillRunCompleted, {
    billRunId: 'br-1',
    targetDate: '2025-03-01',
    invoices: Array.from({ length: count }, (_, i) => make(i + 1)),
  });

function definition(overrides: Partial<DefinitionInput> = {}): Definition {
  return parseDefinition({
    tenantId: 'acme',
    environment: 'production',
    definitionId: 'invoice-email',
    eventType: EVENT_TYPES.InvoicePosted,
    templateId: 'invoice',
    to: ['$.billTo'],
    category: 'transactional',
    active: true,
    ...overrides,
  });
}

const accepted = (jobs: EmailJob[]) =>
  jobs.filter((job): job is AcceptedEmailJob => job.status === 'accepted');
const rejected = (jobs: EmailJob[]) =>
  jobs.filter((job): job is RejectedEmailJob => job.status === 'rejected');

describe('matchDefinitions', () => {
  const posted = event(EVENT_TYPES.InvoicePosted, invoice(1));

  it('returns active definitions of the same tenant, environment and type, sorted by id', () => {
    const matches = matchDefinitions(posted, [
      definition({ definitionId: 'b' }),
      definition({ definitionId: 'a' }),
      definition({ definitionId: 'inactive', active: false }),
      definition({ definitionId: 'other-tenant', tenantId: 'globex' }),
      definition({ definitionId: 'other-env', environment: 'api-sandbox' }),
      definition({ definitionId: 'other-type', eventType: EVENT_TYPES.PaymentProcessed }),
    ]);
    expect(matches.map((d) => d.definitionId)).toEqual(['a', 'b']);
  });

  it('applies the filter to the event data', () => {
    const matches = matchDefinitions(posted, [
      definition({ definitionId: 'eur', filter: { path: '$.currency', eq: 'EUR' } }),
      definition({ definitionId: 'usd', filter: { path: '$.currency', eq: 'USD' } }),
    ]);
    expect(matches.map((d) => d.definitionId)).toEqual(['eur']);
  });
});

describe('evaluateFilter', () => {
  const data = {
    plan: 'pro',
    seats: 5,
    trial: false,
    owner: null,
    tags: ['a'],
    nested: { deep: { x: 'y' } },
  };

  it.each([
    [{ path: '$.plan', eq: 'pro' }, true],
    [{ path: '$.seats', eq: '5' }, false],
    [{ path: '$.trial', eq: false }, true],
    [{ path: '$.owner', eq: null }, true],
    [{ path: '$.missing', eq: null }, false],
    [{ path: '$.plan', in: ['pro', 'enterprise'] }, true],
    [{ path: '$.plan', in: ['free'] }, false],
    [{ path: '$.nested.deep.x', exists: true }, true],
    [{ path: '$.owner', exists: true }, false],
    [{ path: '$.missing', exists: false }, true],
    [{ path: '$.tags[0]', eq: 'a' }, true],
    [{ path: "$.nested['deep'].x", eq: 'y' }, true],
    [
      {
        all: [
          { path: '$.plan', eq: 'pro' },
          { path: '$.seats', eq: 5 },
        ],
      },
      true,
    ],
    [
      {
        all: [
          { path: '$.plan', eq: 'pro' },
          { path: '$.seats', eq: 6 },
        ],
      },
      false,
    ],
    [
      {
        any: [
          { path: '$.plan', eq: 'free' },
          { path: '$.seats', eq: 5 },
        ],
      },
      true,
    ],
    [{ not: { path: '$.plan', eq: 'pro' } }, false],
  ] as const)('evaluates %j to %s', (filter, expected) => {
    const parsed = definition({ filter: filter as DefinitionInput['filter'] }).filter;
    expect(parsed).toBeDefined();
    expect(evaluateFilter(parsed as NonNullable<typeof parsed>, data)).toBe(expected);
  });

  it('never follows prototype properties', () => {
    expect(resolveJsonPath({}, '$.constructor')).toBeUndefined();
    expect(resolveJsonPath({}, '$.__proto__')).toBeUndefined();
    expect(resolveJsonPath({ a: [] }, '$.a.length')).toBeUndefined();
    const filter = definition({ filter: { path: '$.toString', exists: true } }).filter;
    expect(evaluateFilter(filter as NonNullable<typeof filter>, {})).toBe(false);
  });
});

describe('definition schema', () => {
  function definitionIssues(overrides: Record<string, unknown>): string[] {
    try {
      definition(overrides as Partial<DefinitionInput>);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidDefinitionError);
      return (error as InvalidDefinitionError).issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
    throw new Error('expected the definition to be rejected');
  }

  it('rejects a recipient that is neither a path nor an address', () => {
    expect(definitionIssues({ to: ['billTo.email'] })).toContainEqual(
      expect.stringMatching(
        /^to\[0\]: "billTo.email" is neither a JSON path \(starting with \$\) nor a valid address/,
      ),
    );
  });

  it('rejects paths with wildcards or script', () => {
    expect(definitionIssues({ to: ['$.invoices[*].billTo'] })).toContainEqual(
      expect.stringMatching(/^to\[0\]: "\$\.invoices\[\*\]\.billTo" is not a valid JSON path/),
    );
    expect(definitionIssues({ filter: { path: '$..x', eq: 1 } })).toContainEqual(
      expect.stringMatching(/^filter(\.path)?: /),
    );
  });

  it('rejects filters nested too deep', () => {
    let filter: unknown = { path: '$.a', eq: 1 };
    for (let i = 0; i < 7; i++) filter = { not: filter };
    expect(definitionIssues({ filter })).toContainEqual('filter: nests 8 deep; at most 6');
  });

  it('rejects an unknown category and a missing active flag', () => {
    const issues = definitionIssues({ category: 'marketing', active: undefined });
    expect(issues).toContainEqual('category: must be "transactional" or "bulk"');
    expect(issues).toContainEqual(expect.stringMatching(/^active: /));
  });
});

describe('expandJobs', () => {
  it('sends one email per to recipient with cc and bcc on each, de-duplicating addresses', () => {
    const posted = event(EVENT_TYPES.InvoicePosted, {
      ...invoice(1, 'AP@Customer.example'),
      contacts: ['ap@customer.example', 'owner@customer.example'],
      accountManager: { email: 'am@acme.example', name: 'Ann' },
    });
    const jobs = expandJobs(
      posted,
      definition({
        to: ['$.billTo', '$.contacts'],
        cc: ['$.accountManager', 'owner@customer.example'],
        bcc: ['ar@acme.example'],
      }),
    );
    expect(rejected(jobs)).toEqual([]);
    expect(
      accepted(jobs).map((job) => [job.to.email, job.cc.map((m) => m.email), job.bcc.map((m) => m.email)]),
    ).toEqual([
      ['AP@Customer.example', ['am@acme.example', 'owner@customer.example'], ['ar@acme.example']],
      ['owner@customer.example', ['am@acme.example'], ['ar@acme.example']],
    ]);
    expect(accepted(jobs)[0]?.to).toEqual({ email: 'AP@Customer.example', name: 'Customer 1' });
  });

  it('rejects a recipient path that resolves to nothing, with the path in the reason', () => {
    const jobs = expandJobs(
      event(EVENT_TYPES.InvoicePosted, invoice(1)),
      definition({ to: ['$.soldTo.email', '$.billTo.email'] }),
    );
    expect(accepted(jobs)).toHaveLength(1);
    expect(rejected(jobs)).toEqual([
      expect.objectContaining({
        code: 'RECIPIENT_NOT_FOUND',
        reason: '$.soldTo.email resolved to nothing',
        recipient: '$.soldTo.email',
      }),
    ]);
  });

  it('rejects an invalid address with the value in the reason', () => {
    const jobs = expandJobs(event(EVENT_TYPES.InvoicePosted, invoice(1, 'ap at customer')), definition());
    expect(jobs).toEqual([
      expect.objectContaining({
        status: 'rejected',
        code: 'INVALID_RECIPIENT',
        reason: '$.billTo resolved to "ap at customer", which is not of the form local@domain',
      }),
    ]);
  });

  it('leaves an unresolvable cc out of the email and reports it', () => {
    const jobs = expandJobs(
      event(EVENT_TYPES.InvoicePosted, invoice(1)),
      definition({ cc: ['$.accountManager'] }),
    );
    expect(accepted(jobs)[0]?.cc).toEqual([]);
    expect(accepted(jobs)[0]?.skippedRecipients).toEqual([
      {
        spec: '$.accountManager',
        code: 'RECIPIENT_NOT_FOUND',
        reason: '$.accountManager resolved to nothing',
      },
    ]);
  });

  it('gives the same job ids on redelivery and different ids per definition and recipient', () => {
    const posted = event(EVENT_TYPES.InvoicePosted, {
      ...invoice(1),
      contacts: ['a@x.example', 'b@x.example'],
    });
    const first = expandJobs(posted, definition({ to: ['$.contacts'] })).map((job) => job.jobId);
    const again = expandJobs(structuredClone(posted), definition({ to: ['$.contacts'] })).map(
      (job) => job.jobId,
    );
    const other = expandJobs(posted, definition({ definitionId: 'other', to: ['$.contacts'] })).map(
      (j) => j.jobId,
    );
    expect(again).toEqual(first);
    expect(new Set([...first, ...other]).size).toBe(4);
    expect(first[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('treats differently cased spellings of an address as the same recipient in job ids', () => {
    const upper = expandJobs(event(EVENT_TYPES.InvoicePosted, invoice(1, 'AP@X.example')), definition());
    const lower = expandJobs(event(EVENT_TYPES.InvoicePosted, invoice(1, 'ap@x.example')), definition());
    expect(upper[0]?.jobId).toBe(lower[0]?.jobId);
  });

  describe('bill-run fan-out', () => {
    const perInvoice = (overrides: Partial<DefinitionInput> = {}) =>
      definition({
        definitionId: 'bill-run',
        eventType: EVENT_TYPES.BillRunCompleted,
        forEach: { items: '$.invoices', key: '$.invoiceId' },
        category: 'bulk',
        ...overrides,
      });

    it('turns a 10,000-invoice bill run into 10,000 jobs with unique ids, the same on a second run', () => {
      const run = billRun(10_000);
      const first = expandJobs(run, perInvoice());
      expect(first).toHaveLength(10_000);
      expect(accepted(first)).toHaveLength(10_000);
      const ids = first.map((job) => job.jobId);
      expect(new Set(ids).size).toBe(10_000);
      const second = expandJobs(billRun(10_000), perInvoice()).map((job) => job.jobId);
      expect(second).toEqual(ids);
      expect(accepted(first)[9_999]).toMatchObject({
        itemIndex: 9_999,
        itemKey: 'inv-10000',
        to: { email: 'ap-10000@customer-10000.example' },
        category: 'bulk',
      });
    });

    it('expands in chunks to exactly the jobs of a whole expansion', () => {
      const run = billRun(2_500);
      const whole = expandJobs(run, perInvoice()).map((job) => job.jobId);
      const chunks: string[] = [];
      for (let start = 0; start < fanOutSize(run, perInvoice()); start += 1_000) {
        chunks.push(
          ...expandJobs(run, perInvoice(), { itemRange: { start, end: start + 1_000 } }).map((j) => j.jobId),
        );
      }
      expect(chunks).toEqual(whole);
    });

    it('keys ids by invoice id, so reordering the invoices keeps each invoice its id', () => {
      const run = billRun(3);
      const reordered = billRun(3);
      (reordered.data.invoices as unknown[]).reverse();
      const byKey = (jobs: EmailJob[]) => Object.fromEntries(jobs.map((job) => [job.itemKey, job.jobId]));
      expect(byKey(expandJobs(reordered, perInvoice()))).toEqual(byKey(expandJobs(run, perInvoice())));
    });

    it('uses item indexes without a key', () => {
      const jobs = expandJobs(billRun(2), perInvoice({ forEach: { items: '$.invoices' } }));
      expect(jobs.map((job) => [job.itemIndex, job.itemKey])).toEqual([
        [0, undefined],
        [1, undefined],
      ]);
    });

    it('rejects bad bill-to contacts one by one while the rest proceed', () => {
      const run = billRun(5, (n) => invoice(n, n === 2 ? 'broken' : n === 4 ? '' : undefined));
      const jobs = expandJobs(run, perInvoice());
      expect(accepted(jobs).map((job) => job.itemKey)).toEqual(['inv-1', 'inv-3', 'inv-5']);
      expect(rejected(jobs).map((job) => [job.itemKey, job.code])).toEqual([
        ['inv-2', 'INVALID_RECIPIENT'],
        ['inv-4', 'RECIPIENT_NOT_FOUND'],
      ]);
    });

    it('skips elements that fail forEach.filter', () => {
      const jobs = expandJobs(
        billRun(20),
        perInvoice({
          forEach: {
            items: '$.invoices',
            key: '$.invoiceId',
            filter: { not: { path: '$.amount', eq: '0.00' } },
          },
        }),
      );
      expect(jobs).toHaveLength(18);
      expect(jobs.map((job) => job.itemKey)).not.toContain('inv-10');
    });

    it('rejects an element that repeats an earlier key instead of colliding with its id', () => {
      const run = billRun(3, (n) => ({ ...invoice(n), invoiceId: n === 3 ? 'inv-1' : `inv-${n}` }));
      const jobs = expandJobs(run, perInvoice());
      expect(accepted(jobs)).toHaveLength(2);
      expect(rejected(jobs)).toEqual([expect.objectContaining({ code: 'DUPLICATE_ITEM_KEY', itemIndex: 2 })]);
      expect(new Set(jobs.map((job) => job.jobId)).size).toBe(3);
    });

    it('rejects the fan-out when the items path is not an array', () => {
      const jobs = expandJobs(billRun(1), perInvoice({ forEach: { items: '$.billRunId' } }));
      expect(jobs).toEqual([expect.objectContaining({ status: 'rejected', code: 'FAN_OUT_NOT_ARRAY' })]);
    });
  });
});
