import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CliCommand, EXIT, type ExitCode, UsageError } from '../../../cli/cli-command';
import { type CliContext, createCliContext, type LocalEndpoints } from '../../../cli/cli-context';
import { commands } from '../../../cli/commands/notifications';
import { LOCAL_REGION } from '../../../local/emulators/local-aws';
import { testAws } from '../../support/env';
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
let projectDir: string;
let queues: DispatchQueues;
let ctx: CliContext;
const output = { stdout: [] as string[], stderr: [] as string[] };

/** Parses argv against the command's options and maps a UsageError to exit 2, as `cli/main.ts` does. */
async function invoke(argv: string[]): Promise<ExitCode> {
  const [group, name, ...rest] = argv;
  const command: CliCommand | undefined = commands.find((c) => c.group === group && c.name === name);
  if (!command) throw new Error(`no command ${group} ${name}`);
  output.stdout.length = 0;
  output.stderr.length = 0;
  const parsed = parseArgs({
    args: rest,
    options: command.options ?? {},
    allowPositionals: true,
    strict: true,
  });
  const values = Object.fromEntries(
    Object.entries(parsed.values).map(([key, value]) => [
      key,
      Array.isArray(value) ? value.map(String) : value,
    ]),
  );
  try {
    return await command.run(ctx, { values, positionals: parsed.positionals });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    ctx.out.error(error.message);
    return EXIT.USAGE;
  }
}

async function file(name: string, content: unknown): Promise<string> {
  const path = join(projectDir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

beforeAll(async () => {
  projectDir = await mkdtemp(join(tmpdir(), 'tm-cli-notify-'));
  queues = await createDispatchQueues(`cli-${run}`);
  const endpoints: LocalEndpoints = {
    scope: 'dev',
    region: LOCAL_REGION,
    dynamodb: testAws.dynamodb.endpoint,
    sqs: testAws.sqs.endpoint,
    sns: testAws.sqs.endpoint,
    ses: 'http://127.0.0.1:1',
    dns: '127.0.0.1:1',
    queues: { 'tenant-mail-dev-events': queues.events },
    viewer: 'http://127.0.0.1:1/_local/',
  };
  await mkdir(join(projectDir, '.local'), { recursive: true });
  await writeFile(join(projectDir, '.local', 'endpoints.json'), JSON.stringify(endpoints));
  const base = createCliContext({ scope: 'dev', json: false, local: true, projectDir });
  ctx = {
    ...base,
    out: {
      result: (_data, text) => output.stdout.push(text()),
      info: (text) => output.stdout.push(text),
      error: (text) => output.stderr.push(text),
    },
  };
});

afterAll(async () => {
  ctx.close();
  await deleteDispatchQueues(queues);
  sqs.destroy();
  await rm(projectDir, { recursive: true, force: true });
});

describe('tenant-mail definition / template / event commands', () => {
  it('puts a template and a definition, lists them, and refuses a definition whose template is missing', async () => {
    const template = await file('t.json', fixture('invoice-posted.template.json', tenantId));
    expect(await invoke(['template', 'put', '--file', template])).toBe(EXIT.OK);
    expect(output.stdout).toEqual([`saved template invoice-posted of ${tenantId}, version 1`]);

    const definition = await file('d.json', fixture('invoice-posted.definition.json', tenantId));
    expect(await invoke(['definition', 'put', '--file', definition])).toBe(EXIT.OK);
    expect(output.stdout[0]).toBe(
      `saved definition invoice-posted-email of ${tenantId} in developer-sandbox: com.tenantmail.invoice.posted → template invoice-posted (transactional)`,
    );

    expect(await invoke(['definition', 'list', '--tenant', tenantId])).toBe(EXIT.OK);
    expect(output.stdout[0]).toMatch(
      /invoice-posted-email\s+com\.tenantmail\.invoice\.posted\s+invoice-posted/,
    );
    expect(await invoke(['template', 'list', '--tenant', tenantId])).toBe(EXIT.OK);
    expect(output.stdout[0]).toMatch(/invoice-posted\s+1\s+Invoice/);

    const orphan = await file('o.json', {
      ...fixture('invoice-posted.definition.json', tenantId),
      templateId: 'nope',
    });
    expect(await invoke(['definition', 'put', '--file', orphan])).toBe(EXIT.NOT_FOUND);
    expect(output.stderr[0]).toMatch(/has no template nope: put the template first/);
  });

  it('reports an invalid definition with every field problem and exit 2', async () => {
    const bad = await file('bad.json', {
      ...fixture('invoice-posted.definition.json', tenantId),
      category: 'promo',
    });
    expect(await invoke(['definition', 'put', '--file', bad])).toBe(EXIT.USAGE);
    expect(output.stderr[0]).toBe(
      'invalid notification definition: category: must be "transactional" or "bulk"',
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
    const text = output.stdout.join('\n');
    expect(text).toMatch(/^To: success\+globex-ap@simulator\.amazonses\.com$/m);
    expect(text).toMatch(/^Subject: Invoice INV-001001: 1250\.00 EUR due 31 March 2025$/m);
    expect(text).toMatch(/^X-Invoice-Number: INV-001001$/m);
    expect(text).toContain('--- html ---');
    expect(text).toMatch(/--- text ---\n[\s\S]*Download the invoice \(PDF\)/);
  });

  it('reports a rendering failure with the engine message and exit 1', async () => {
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
    expect(code).toBe(EXIT.CHECK_FAILED);
    expect(output.stderr[0]).toBe(
      'RENDERING_FAILURE: template broken failed to render: subject must not contain a line break (CR or LF)',
    );
  });

  it('publishes a valid event to the events queue and refuses an invalid one or another scope', async () => {
    const event = fixture('invoice-posted.event.json', tenantId);
    expect(await invoke(['event', 'publish', await file('p.json', event)])).toBe(EXIT.OK);
    expect(output.stdout[0]).toMatch(
      new RegExp(
        `^published event ${String(event.id)} \\(com\\.tenantmail\\.invoice\\.posted\\) of ${tenantId} in developer-sandbox to the dev events queue`,
      ),
    );
    const [published] = await drainQueue(queues.events);
    expect(JSON.parse(published?.Body ?? '{}')).toEqual(event);

    expect(
      await invoke(['event', 'publish', await file('bad-event.json', { ...event, time: 'yesterday' })]),
    ).toBe(EXIT.USAGE);
    expect(output.stderr[0]).toMatch(/^invalid event: time: must be an RFC 3339 timestamp/);
    expect(
      await invoke([
        'event',
        'publish',
        await file('prod-event.json', { ...event, environment: 'production' }),
      ]),
    ).toBe(EXIT.USAGE);
    expect(output.stderr[0]).toMatch(/environment production is not served by the dev scope/);
    expect(await drainQueue(queues.events)).toEqual([]);
  });

  it('deletes a definition, then says it is not found', async () => {
    const args = ['--tenant', tenantId, '--env', 'developer-sandbox', '--id', 'invoice-posted-email'];
    expect(await invoke(['definition', 'delete', ...args])).toBe(EXIT.OK);
    expect(await invoke(['definition', 'delete', ...args])).toBe(EXIT.NOT_FOUND);
  });
});
