import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AcceptedEmailJob,
  expandJobs,
  type RenderContext,
  renderContextFor,
} from '../../../lambdas/domain/notifications/definition-matching';
import { parseDefinition } from '../../../lambdas/domain/notifications/definition-schema';
import { parseNotificationEvent } from '../../../lambdas/domain/notifications/event-schema';
import { htmlToText } from '../../../lambdas/domain/notifications/html-to-text';
import {
  InvalidTemplateError,
  TemplateRenderError,
} from '../../../lambdas/domain/notifications/notification-errors';
import {
  assertTemplateCompiles,
  renderPreview,
  TemplateRenderer,
} from '../../../lambdas/domain/notifications/template-renderer';
import {
  parseTemplateContent,
  type Template,
  type TemplateContentInput,
} from '../../../lambdas/domain/notifications/template-schema';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(__dirname, '../../fixtures/events', name), 'utf8'));

// Compiled templates are cached by id + version, so every test template gets its own id unless it names one.
let templateSeq = 0;
function template(overrides: Partial<TemplateContentInput> = {}): Template {
  const templateId = `tpl-${++templateSeq}`;
  return {
    ...parseTemplateContent({ tenantId: 'acme', templateId, subject: 'Hi', ...overrides }),
    version: 1,
  };
}

function context(item: Record<string, unknown>): RenderContext {
  return {
    event: {
      id: 'evt-1',
      type: 'com.acme.thing.happened',
      source: 'test',
      time: '2025-03-01T00:00:00Z',
      tenantid: 'acme',
      environment: 'production',
    },
    data: item,
    item,
    recipient: { email: 'ann@customer.example', name: 'Ann' },
  };
}

async function renderError(
  renderer: TemplateRenderer,
  tpl: Template,
  ctx: RenderContext,
): Promise<TemplateRenderError> {
  try {
    await renderer.render(tpl, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateRenderError);
    return error as TemplateRenderError;
  }
  throw new Error('expected rendering to fail');
}

describe('TemplateRenderer', () => {
  const renderer = new TemplateRenderer();
  const hostile = context({ name: '<script>alert("x")</script>', note: 'Tom & Jerry' });

  it('escapes event data in HTML but not in subject and text', async () => {
    const rendered = await renderer.render(
      template({ subject: 'Hello {{ item.name }}', html: '<p>{{ item.name }}</p>', text: '{{ item.note }}' }),
      hostile,
    );
    expect(rendered.html).toBe('<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>');
    expect(rendered.subject).toBe('Hello <script>alert("x")</script>');
    expect(rendered.text).toBe('Tom & Jerry');
  });

  it('keeps escaping event data when a template asks for | raw', async () => {
    const rendered = await renderer.render(template({ html: '<p>{{ item.name | raw }}</p>' }), hostile);
    expect(rendered.html).not.toContain('<script>');
    expect(rendered.html).toContain('&lt;script&gt;');
  });

  it.each([
    ['include', '{% include "/etc/passwd" %}'],
    ['render', "{% render 'partials/footer' %}"],
    ['layout', '{% layout "base" %}body'],
  ])('refuses the %s tag, so a template cannot read files', async (tag, source) => {
    const error = await renderError(renderer, template({ html: source }), hostile);
    expect(error.code).toBe('RENDERING_FAILURE');
    expect(error.message).toContain(`the ${tag} tag is not available`);
    expect(() => assertTemplateCompiles(template({ html: source }))).toThrow(InvalidTemplateError);
  });

  it('fails with RENDERING_FAILURE when the render time limit is hit', async () => {
    // CPU-bound: the process spends the limit on the CPU (a CPU clock that runs with the wall clock, whatever
    // else this machine is doing), so it is the template's fault (REJECTED), not the machine's.
    const slow = new TemplateRenderer({ renderLimitMs: 20, cpuMs: () => performance.now() });
    const loops = '{% for a in (1..100000) %}{% for b in (1..100000) %}{{ a }}{% endfor %}{% endfor %}';
    const error = await renderError(slow, template({ templateId: 'slow', html: loops }), hostile);
    expect(error.code).toBe('RENDERING_FAILURE');
    expect(error.kind).toBe('permanent');
    expect(error.message).toMatch(/^template slow failed to render: html: .*limit exceeded/);
  });

  it('retries later instead of rejecting when the machine, not the template, used up the time limit', async () => {
    // The same heavy loops, but this process got no CPU meanwhile (a starved machine): a later attempt decides.
    const starved = new TemplateRenderer({ renderLimitMs: 20, cpuMs: () => 0 });
    const loops = '{% for a in (1..100000) %}{% for b in (1..100000) %}{{ a }}{% endfor %}{% endfor %}';
    await expect(
      starved.render(template({ templateId: 'slow', html: loops }), hostile),
    ).rejects.toMatchObject({
      code: 'RENDER_STARVED',
      kind: 'transient',
    });
  });

  it('fails when the output exceeds the size cap', async () => {
    const small = new TemplateRenderer({ maxOutputLength: 1000 });
    const error = await renderError(
      small,
      template({ text: '{% for i in (1..200) %}0123456789{% endfor %}' }),
      hostile,
    );
    expect(error.message).toContain('text: rendered 2000 characters; the limit is 1000');
  });

  it('rejects a line break that event data puts into the subject (header injection)', async () => {
    const injected = context({ name: 'Ann\r\nBcc: everyone@evil.example' });
    const error = await renderError(
      renderer,
      template({ subject: 'Hello {{ item.name }}', text: 'x' }),
      injected,
    );
    expect(error.code).toBe('RENDERING_FAILURE');
    expect(error.message).toContain('subject must not contain a line break (CR or LF)');
  });

  it('rejects a line break that event data puts into a custom header', async () => {
    const injected = context({ ref: 'r1\nBcc: everyone@evil.example' });
    const tpl = template({ text: 'x', headers: { 'X-Reference': '{{ item.ref }}' } });
    const error = await renderError(renderer, tpl, injected);
    expect(error.message).toContain('header X-Reference must not contain a line break');
  });

  it('renders allowed custom headers', async () => {
    const tpl = template({ text: 'x', headers: { 'X-Reference': 'ref-{{ item.ref }}' } });
    expect((await renderer.render(tpl, context({ ref: 42 }))).headers).toEqual({ 'X-Reference': 'ref-42' });
  });

  it('refuses templates that set structural or SES headers', () => {
    for (const name of ['From', 'To', 'Reply-To', 'Content-Type', 'X-SES-CONFIGURATION-SET', 'X-Bad:Name']) {
      expect(() =>
        parseTemplateContent({
          tenantId: 'a',
          templateId: 't',
          subject: 's',
          text: 'x',
          headers: { [name]: 'v' },
        }),
      ).toThrow(InvalidTemplateError);
    }
  });

  it('fails on unknown filters instead of silently skipping them', async () => {
    const error = await renderError(renderer, template({ html: '{{ item.name | exec }}' }), hostile);
    expect(error.message).toContain('undefined filter: exec');
  });

  it('shows only own data properties to templates', async () => {
    const rendered = await renderer.render(
      template({ text: '[{{ item.constructor }}][{{ item.__proto__ }}][{{ item.name.toUpperCase }}]' }),
      context({ name: 'abc' }),
    );
    expect(rendered.text).toBe('[][][]');
  });

  it('derives the text part from the HTML when the template has none', async () => {
    const rendered = await renderer.render(
      template({
        html: '<h1>Invoice {{ item.number }}</h1><p>Total: <b>{{ item.total }}</b><br>Thanks &amp; bye</p><ul><li>One</li><li>Two</li></ul><p><a href="https://pay.example/i?x=1&amp;y=2">Pay now</a></p><style>p{}</style>',
      }),
      context({ number: 'INV-1', total: '5 < 6' }),
    );
    expect(rendered.text).toBe(
      'Invoice INV-1\n\nTotal: 5 < 6\nThanks & bye\n\n- One\n- Two\n\nPay now (https://pay.example/i?x=1&y=2)',
    );
  });

  it('compiles a template once per id and version', async () => {
    const cached = new TemplateRenderer();
    const v1 = template({ templateId: 'versioned', text: 'v1' });
    await cached.render(v1, hostile);
    await cached.render({ ...v1 }, hostile);
    expect(cached.cachedTemplates).toBe(1);
    const v2 = { ...template({ templateId: 'versioned', text: 'v2' }), version: 2 };
    expect((await cached.render(v2, hostile)).text).toBe('v2');
    expect(cached.cachedTemplates).toBe(2);
  });

  it('refuses to store a template whose Liquid does not parse', () => {
    expect(() => assertTemplateCompiles(template({ html: '{% if item.x %}unclosed' }))).toThrow(
      /invalid template: html: tag \{% if item.x %\} not closed/,
    );
  });
});

describe('renderPreview', () => {
  it('renders the first email a definition would send for a sample event', async () => {
    const preview = await renderPreview(
      parseTemplateContent(fixture('invoice-posted.template.json')),
      fixture('bill-run-completed.event.json'),
      { definition: parseDefinition(fixture('bill-run-completed.definition.json')) },
    );
    expect(preview.to).toBe('success+initech-ap@simulator.amazonses.com');
    expect(preview.subject).toBe('Invoice INV-002001: 99.00 EUR due 31 March 2025');
    expect(preview.text).toContain('Dear Initech Accounts Payable,');
  });

  it('renders with the event data as item when no definition is given', async () => {
    const preview = await renderPreview(
      parseTemplateContent(fixture('payment-receipt.template.json')),
      fixture('payment-processed.event.json'),
    );
    expect(preview.subject).toBe('Payment P-00002002 received: 1250.00 EUR');
    expect(preview.to).toBeUndefined();
  });
});

describe('htmlToText', () => {
  it('drops scripts, comments and head, and decodes numeric entities', () => {
    expect(
      htmlToText('<head><title>T</title></head><!-- c --><script>x()</script><p>caf&#233; &#x2014; ok</p>'),
    ).toBe('café — ok');
  });
});

describe('rendering a bill-run fan-out', () => {
  it('shows each email its invoice as item and the run without the invoice list as data', async () => {
    const event = parseNotificationEvent(fixture('bill-run-completed.event.json'));
    const jobs = expandJobs(event, parseDefinition(fixture('bill-run-completed.definition.json')));
    const job = jobs.find((candidate): candidate is AcceptedEmailJob => candidate.status === 'accepted');
    expect(job).toBeDefined();
    const rendered = await new TemplateRenderer().render(
      template({
        text: '{{ item.invoiceNumber }} of {{ data.billRunNumber }}; {{ data.invoices | size }} listed',
      }),
      renderContextFor(event, job as AcceptedEmailJob),
    );
    expect(rendered.text).toBe('INV-002001 of BR-00004004; 0 listed');
    expect((event.data.invoices as unknown[]).length).toBe(4);
  });
});
