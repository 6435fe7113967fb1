import { type FS, Liquid, type LiquidOptions, type Template as LiquidTemplate } from 'liquidjs';
import { TransientError } from '../errors';
import { controlCharacterProblem, MAX_HEADER_VALUE_LENGTH } from '../sending/mail-policy';
import { expandJobs, type RenderContext, renderContextFor } from './definition-matching';
import type { Definition } from './definition-schema';
import { parseNotificationEvent } from './event-schema';
import { htmlToText } from './html-to-text';
import { InvalidTemplateError, TemplateRenderError } from './notification-errors';

/** LiquidJS's message when `renderLimit` (wall-clock time) is exceeded. */
const RENDER_LIMIT = /render limit exceeded/;

import type { Template, TemplateContent } from './template-schema';
import { MAX_TEMPLATE_SOURCE_LENGTH } from './template-schema';

/** Limits applied to every render; all have safe defaults for a Lambda with 30 s per batch. */
export interface TemplateRendererOptions {
  /** LiquidJS `renderLimit`: milliseconds one part may take. @default 1000 */
  readonly renderLimitMs?: number;
  /** LiquidJS `parseLimit`: characters parsed per part. @default 500000 */
  readonly parseLimit?: number;
  /** LiquidJS `memoryLimit`: allocation units (string/array sizes) per render. @default 10000000 */
  readonly memoryLimit?: number;
  /** Largest rendered HTML or text body, in characters. @default 1000000 */
  readonly maxOutputLength?: number;
  /** Compiled templates kept per container (least recently used evicted). @default 500 */
  readonly cacheSize?: number;
  /**
   * Milliseconds of CPU this process has used: tells a heavy template from a busy machine when the wall-clock
   * render limit is hit. @default process.cpuUsage() (user + system)
   */
  readonly cpuMs?: () => number;
}

const processCpuMs = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1_000;
};

/** The rendered parts of one email. */
export interface RenderedEmail {
  readonly subject: string;
  readonly html?: string;
  readonly text: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Parsed Liquid of every part of one template. */
export interface CompiledTemplate {
  readonly subject: LiquidTemplate[];
  readonly html?: LiquidTemplate[];
  readonly text?: LiquidTemplate[];
  readonly headers: readonly (readonly [string, LiquidTemplate[]])[];
}

/** Every file lookup fails: templates are data from tenants and must never read the Lambda's file system. */
const NO_FILE_SYSTEM: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async (file) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  readFileSync: (file) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  resolve: (_dir, file) => file,
  contains: async () => false,
  containsSync: () => false,
};

const FILE_TAGS = ['include', 'render', 'layout'] as const;

function createEngine(options: Required<TemplateRendererOptions>, escapeHtml: boolean): Liquid {
  const liquidOptions: LiquidOptions = {
    fs: NO_FILE_SYSTEM,
    root: [],
    partials: [],
    layouts: [],
    relativeReference: false,
    dynamicPartials: false,
    cache: false,
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    timezoneOffset: 0,
    // Month and day names of the `date` filter. Named here rather than read from the system's Intl default, which
    // costs an Intl.DateTimeFormat (ICU start-up, ~30 ms) in every engine built at cold start.
    locale: 'en-US',
    parseLimit: options.parseLimit,
    renderLimit: options.renderLimitMs,
    memoryLimit: options.memoryLimit,
    ...(escapeHtml ? { outputEscape: 'escape' as const } : {}),
  };
  const engine = new Liquid(liquidOptions);
  for (const tag of FILE_TAGS) {
    engine.registerTag(tag, {
      parse() {
        throw new Error(`the ${tag} tag is not available: templates cannot read other files`);
      },
      render() {},
    });
  }
  // With outputEscape, a trailing `| raw` would skip escaping; redefined as a plain filter, event data stays escaped.
  if (escapeHtml) engine.registerFilter('raw', (value: unknown) => value);
  return engine;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Renders tenant templates with LiquidJS configured for untrusted input: no file system (`include`, `render`,
 * `layout` fail to parse), HTML output escaped (`outputEscape: 'escape'`, `raw` disabled), unknown filters are
 * errors, only own properties of the data are visible, and parse size, render time, memory and output size are
 * limited. Subject and header values are rendered without HTML escaping and must not contain line breaks; the
 * text part is derived from the HTML when the template has none. Compiled templates are cached by tenant,
 * template id and version. Create one per container and reuse it.
 */
export class TemplateRenderer {
  private readonly options: Required<TemplateRendererOptions>;
  private readonly htmlEngine: Liquid;
  private readonly textEngine: Liquid;
  private readonly cache = new Map<string, CompiledTemplate>();

  constructor(options: TemplateRendererOptions = {}) {
    this.options = {
      renderLimitMs: options.renderLimitMs ?? 1000,
      parseLimit: options.parseLimit ?? MAX_TEMPLATE_SOURCE_LENGTH,
      memoryLimit: options.memoryLimit ?? 10_000_000,
      maxOutputLength: options.maxOutputLength ?? 1_000_000,
      cacheSize: options.cacheSize ?? 500,
      cpuMs: options.cpuMs ?? processCpuMs,
    };
    this.htmlEngine = createEngine(this.options, true);
    this.textEngine = createEngine(this.options, false);
  }

  /** Number of compiled templates held, for tests and metrics. */
  get cachedTemplates(): number {
    return this.cache.size;
  }

  /**
   * Parses every part; the result is cached when the template has a version.
   * @throws InvalidTemplateError naming the part and the engine's message.
   */
  compile(template: Template | TemplateContent): CompiledTemplate {
    const version = 'version' in template ? template.version : undefined;
    const key =
      version === undefined ? undefined : `${template.tenantId}\u0000${template.templateId}\u0000${version}`;
    if (key !== undefined) {
      const hit = this.cache.get(key);
      if (hit) {
        this.cache.delete(key);
        this.cache.set(key, hit);
        return hit;
      }
    }
    const parse = (engine: Liquid, path: string, source: string) => {
      try {
        return engine.parse(source);
      } catch (error) {
        throw new InvalidTemplateError([{ path, message: errorMessage(error) }], { cause: error });
      }
    };
    const compiled: CompiledTemplate = {
      subject: parse(this.textEngine, 'subject', template.subject),
      ...(template.html === undefined ? {} : { html: parse(this.htmlEngine, 'html', template.html) }),
      ...(template.text === undefined ? {} : { text: parse(this.textEngine, 'text', template.text) }),
      headers: Object.entries(template.headers).map(
        ([name, source]) => [name, parse(this.textEngine, `headers.${name}`, source)] as const,
      ),
    };
    if (key !== undefined) {
      this.cache.set(key, compiled);
      if (this.cache.size > this.options.cacheSize) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    }
    return compiled;
  }

  /**
   * Renders one email.
   * @throws TemplateRenderError (code `RENDERING_FAILURE`) with the engine's message on any failure, including a
   * template that does not compile, a limit hit, an oversized body or a line break in the subject or a header.
   */
  async render(template: Template | TemplateContent, context: RenderContext): Promise<RenderedEmail> {
    const fail = (message: string, cause?: unknown): never => {
      throw new TemplateRenderError(
        template.templateId,
        message,
        cause === undefined ? undefined : { cause },
      );
    };
    let compiled: CompiledTemplate;
    try {
      compiled = this.compile(template);
    } catch (error) {
      return fail(errorMessage(error), error);
    }
    // No defensive copy: a bill run's context is large and rendered thousands of times; `ownPropertyOnly`
    // already hides inherited properties, and Liquid never writes into the scope it is given.
    const scope = context as unknown as object;
    const run = async (engine: Liquid, part: string, parsed: LiquidTemplate[]): Promise<string> => {
      let out: unknown;
      const cpuBefore = this.options.cpuMs();
      try {
        out = await engine.render(parsed, scope);
      } catch (error) {
        if (RENDER_LIMIT.test(errorMessage(error))) {
          // LiquidJS times the render by the wall clock. If this process spent less than half the limit on the
          // CPU meanwhile, the machine was busy, not the template heavy: a later attempt decides (the event is
          // retried, then dead-lettered with this reason if it keeps happening), the email is not rejected.
          const cpuMs = this.options.cpuMs() - cpuBefore;
          if (cpuMs < this.options.renderLimitMs / 2) {
            throw new TransientError(
              'RENDER_STARVED',
              `template ${template.templateId} ${part}: the render limit of ${this.options.renderLimitMs} ms passed after only ${Math.round(cpuMs)} ms of CPU; retrying later`,
              { cause: error },
            );
          }
        }
        return fail(`${part}: ${errorMessage(error)}`, error);
      }
      const text = String(out);
      if (text.length > this.options.maxOutputLength) {
        fail(`${part}: rendered ${text.length} characters; the limit is ${this.options.maxOutputLength}`);
      }
      return text;
    };
    const headerLine = (part: string, value: string, max: number): string => {
      const trimmed = value.trim();
      const control = controlCharacterProblem(trimmed);
      if (control) fail(`${part} ${control}`);
      if (trimmed.length > max) fail(`${part} is ${trimmed.length} characters; the limit is ${max}`);
      return trimmed;
    };

    const subject = headerLine('subject', await run(this.textEngine, 'subject', compiled.subject), 998);
    if (!subject) fail('subject rendered empty');
    const html = compiled.html ? await run(this.htmlEngine, 'html', compiled.html) : undefined;
    const text = compiled.text ? await run(this.textEngine, 'text', compiled.text) : htmlToText(html ?? '');
    const headers: Record<string, string> = {};
    for (const [name, parsed] of compiled.headers) {
      headers[name] = headerLine(
        `header ${name}`,
        await run(this.textEngine, `header ${name}`, parsed),
        MAX_HEADER_VALUE_LENGTH,
      );
    }
    return { subject, ...(html === undefined ? {} : { html }), text, headers };
  }
}

/**
 * Checks that every part of a template parses (and uses no file tags), so a broken template is refused when it
 * is saved rather than when a bill run renders it.
 * @throws InvalidTemplateError naming the part and the engine's message.
 */
export function assertTemplateCompiles(template: TemplateContent, renderer = new TemplateRenderer()): void {
  const { version: _ignored, ...content } = template as TemplateContent & { version?: number };
  renderer.compile(content);
}

/** Result of {@link renderPreview}: the rendered email plus who it would go to. */
export interface PreviewResult extends RenderedEmail {
  readonly to?: string;
  readonly context: RenderContext;
}

/**
 * What the CLI's `template render` shows: the template rendered for a sample event. With a definition, the
 * preview uses that definition's first accepted job (first fan-out element and recipient), so paths and
 * recipients are exercised as in production; without one, `item` is the event data and the recipient a placeholder.
 * @throws InvalidEventError when the sample event is invalid; TemplateRenderError when rendering fails.
 */
export async function renderPreview(
  template: Template | TemplateContent,
  sampleEvent: unknown,
  options: { readonly definition?: Definition; readonly renderer?: TemplateRenderer } = {},
): Promise<PreviewResult> {
  const event = parseNotificationEvent(sampleEvent);
  const renderer = options.renderer ?? new TemplateRenderer();
  const job = options.definition
    ? expandJobs(event, options.definition).find((candidate) => candidate.status === 'accepted')
    : undefined;
  const context: RenderContext = job
    ? renderContextFor(event, job)
    : {
        event: {
          id: event.id,
          type: event.type,
          source: event.source,
          time: event.time,
          tenantid: event.tenantid,
          environment: event.environment,
        },
        data: event.data,
        item: event.data,
        recipient: { email: 'preview@example.invalid' },
      };
  const rendered = await renderer.render(template, context);
  return { ...rendered, ...(job ? { to: job.to.email } : {}), context };
}
