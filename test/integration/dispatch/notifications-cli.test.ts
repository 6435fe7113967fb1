import { EXIT } from '../../../cli/exit-codes';
import { type CliHarness, type CliRun, createCliHarness } from '../../support/cli-harness';
import {
  createDispatchQueues,
  type DispatchQueues,
  deleteDispatchQueues,
  drainQueue,
  fixture,
  sqs,
} from './dispatch-harness';

const run = `${Date.now().toString(36)}-${process.pid}`;
const tenantId = `cli-notify-${run}`;
let queues: DispatchQueues;
let cli: CliHarness;
let output: CliRun;

/** `tenant-mail <argv> --local` through cli/main.ts; the run's output stays in `output`. */
async function invoke(argv: string[]): Promise<number> {
  output = await cli.run(argv);
  return output.code;
}

const file = (name: string, content: unknown) => cli.file(name, content);

beforeAll(async () => {
  queues = await createDispatchQueues(`cli-${run}`);
  cli = await createCliHarness({ queues: { 'tenant-mail-dev-events': queues.events } });
});

afterAll(async () => {
  await deleteDispatchQueues(queues);
  sqs.destroy();
  await cli.stop();
});

describe('tenant-mail definition / template / event commands', () => {
  it('puts a template and a definition, lists them, and refuses a definition whose template is missing', async () => {
    const template = await file('t.json', fixture('invoice-posted.template.json', tenantId));
    expect(await invoke(['template', 'put', '--file', template])).toBe(EXIT.OK);
    expect(output.stdout).toBe(`saved template invoice-posted of ${tenantId}, version 1`);

    const definition = await file('d.json', fixture('invoice-posted.definition.json', tenantId));
    expect(await invoke(['definition', 'put', '--file', definition])).toBe(EXIT.OK);
    expect(output.stdout).toBe(
      `saved definition invoice-posted-email of ${tenantId} in developer-sandbox: com.tenantmail.invoice.posted → template invoice-posted (transactional)`,
    );

    expect(await invoke(['definition', 'list', '--tenant', tenantId])).toBe(EXIT.OK);
    expect(output.stdout).toMatch(/invoice-posted-email\s+com\.tenantmail\.invoice\.posted\s+invoice-posted/);
    expect(await invoke(['template', 'list', '--tenant', tenantId])).toBe(EXIT.OK);
    expect(output.stdout).toMatch(/invoice-posted\s+1\s+Invoice/);

    const orphan = await file('o.json', {
      ...fixture('invoice-posted.definition.json', tenantId),
      templateId: 'nope',
    });
    expect(await invoke(['definition', 'put', '--file', orphan])).toBe(EXIT.NOT_FOUND);
    expect(output.stderr).toMatch(/^error: tenant cli-notify-\S+ has no template nope$/m);
  });

  it('reports an invalid definition with every field problem and exit 2', async () => {
    const bad = await file('bad.json', {
      ...fixture('invoice-posted.definition.json', tenantId),
      category: 'promo',
    });
    expect(await invoke(['definition', 'put', '--file', bad])).toBe(EXIT.USAGE);
    expect(output.stderr).toMatch(
      /^error: invalid notification definition: category: must be "transactional" or "bulk"$/m,
    );
  });

  it('renders a template for a sample event: subject, headers, html and text', async () => {
    const event = await file('e.json', fixture('invoice-posted.event.json', tenantId));
    const code = await invoke([
      'template',
      'render',
      '--tenant',
      tenantId,
      '--template',
      'invoice-posted',
      '--event',
      event,
      '--definition',
      'invoice-posted-email',
    ]);
    expect(code).toBe(EXIT.OK);
    const text = output.stdout;
    expect(text).toMatch(/^To: success\+globex-ap@simulator\.amazonses\.com$/m);
    expect(text).toMatch(/^Subject: Invoice INV-001001: 1250\.00 EUR due 31 March 2025$/m);
    expect(text).toMatch(/^X-Invoice-Number: INV-001001$/m);
    expect(text).toContain('--- html ---');
    expect(text).toMatch(/--- text ---\n[\s\S]*Download the invoice \(PDF\)/);
  });

  it('reports a rendering failure with the engine message as invalid input (exit 2)', async () => {
    await invoke([
      'template',
      'put',
      '--file',
      await file('broken.json', { tenantId, templateId: 'broken', subject: '{{ item.note }}', text: 'x' }),
    ]);
    const event = fixture('invoice-posted.event.json', tenantId) as { data: Record<string, unknown> };
    event.data.note = 'a\nBcc: x@evil.example';
    const code = await invoke([
      'template',
      'render',
      '--tenant',
      tenantId,
      '--template',
      'broken',
      '--event',
      await file('e2.json', event),
    ]);
    expect(code).toBe(EXIT.USAGE);
    expect(output.stderr).toMatch(
      /^error: template broken failed to render: subject must not contain a line break \(CR or LF\)$/m,
    );
  });

  it('publishes a valid event to the events queue and refuses an invalid one or another scope', async () => {
    const event = fixture('invoice-posted.event.json', tenantId);
    expect(await invoke(['event', 'publish', await file('p.json', event)])).toBe(EXIT.OK);
    expect(output.stdout).toMatch(
      new RegExp(
        `^published event ${String(event.id)} \\(com\\.tenantmail\\.invoice\\.posted\\) of ${tenantId} in developer-sandbox to the dev events queue`,
      ),
    );
    const [published] = await drainQueue(queues.events);
    expect(JSON.parse(published?.Body ?? '{}')).toEqual(event);

    expect(
      await invoke(['event', 'publish', await file('bad-event.json', { ...event, time: 'yesterday' })]),
    ).toBe(EXIT.USAGE);
    expect(output.stderr).toMatch(/^error: invalid event: time: must be an RFC 3339 timestamp/m);
    expect(
      await invoke([
        'event',
        'publish',
        await file('prod-event.json', { ...event, environment: 'production' }),
      ]),
    ).toBe(EXIT.USAGE);
    expect(output.stderr).toMatch(
      /the dev scope serves developer-sandbox, central-sandbox; production belongs to the other scope/,
    );
    expect(await drainQueue(queues.events)).toEqual([]);
  });

  it('deletes a definition, then says it is not found', async () => {
    const args = ['--tenant', tenantId, '--env', 'developer-sandbox', '--id', 'invoice-posted-email'];
    expect(await invoke(['definition', 'delete', ...args])).toBe(EXIT.OK);
    expect(await invoke(['definition', 'delete', ...args])).toBe(EXIT.NOT_FOUND);
  });
});
