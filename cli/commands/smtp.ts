import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { FileSecretStore } from '../../lambdas/adapters/secrets/file-secret-store';
import { SecretsManagerSecretStore } from '../../lambdas/adapters/secrets/secrets-manager-secret-store';
import { NodemailerRelaySender } from '../../lambdas/adapters/smtp/nodemailer-relay-sender';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import { PermanentError } from '../../lambdas/domain/errors';
import { ENVIRONMENTS, type Environment, SCOPE_ENVIRONMENTS } from '../../lambdas/domain/scope';
import type { ConnectionStep, ConnectionTestReport } from '../../lambdas/domain/smtp/relay-sender';
import {
  parseOAuth2Secret,
  parsePasswordSecret,
  SecretNotFoundError,
  type SecretStore,
} from '../../lambdas/domain/smtp/secret-store';
import {
  type FieldError,
  type SmtpSettings,
  tenantSmtpSecretName,
  validateSmtpSettings,
} from '../../lambdas/domain/smtp/smtp-settings';
import { type Tenant, tenantProblemsInScope } from '../../lambdas/domain/tenant';
import {
  type CliCommand,
  type CommandArgs,
  EXIT,
  type ExitCode,
  requireOption,
  UsageError,
} from '../cli-command';
import type { CliContext } from '../cli-context';

/** What the smtp commands read from outside the context; tests replace stdin. */
export interface SmtpCommandIo {
  /** The whole of standard input (for `--password-stdin`). @default reads process.stdin */
  readonly readStdin?: () => Promise<string>;
}

/** Folder of the local twin's file secret store when `.local/endpoints.json` names none. */
export const DEFAULT_LOCAL_SECRETS_DIR = join(__dirname, '..', '..', '.local', 'secrets');

const tenantStore = (ctx: CliContext) =>
  new DynamoTenantStore(ctx.documents, { tableName: ctx.tableName('tenants'), cacheTtlSeconds: 0 });

/** The local file store with `--local`, Secrets Manager otherwise: the same choice the composition roots make. */
function secretStoreFor(ctx: CliContext): SecretStore & { readonly where: string } {
  if (ctx.local) {
    const store = new FileSecretStore({ folder: ctx.local.secretsDir ?? DEFAULT_LOCAL_SECRETS_DIR });
    return Object.assign(store, { where: `local secret store ${store.path}` });
  }
  const store = new SecretsManagerSecretStore({ client: ctx.secrets, ttlMs: 0 });
  return Object.assign(store, { where: 'AWS Secrets Manager' });
}

function environmentOption(ctx: CliContext, args: CommandArgs): Environment {
  const env = requireOption(args, 'env');
  if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
    throw new UsageError(`--env must be one of ${ENVIRONMENTS.join(', ')}`);
  }
  if (!SCOPE_ENVIRONMENTS[ctx.scope].includes(env as Environment)) {
    throw new UsageError(
      `the ${ctx.scope} scope serves ${SCOPE_ENVIRONMENTS[ctx.scope].join(', ')}; ${env} belongs to the other scope (--scope)`,
    );
  }
  return env as Environment;
}

async function loadTenant(ctx: CliContext, tenantId: string): Promise<Tenant | undefined> {
  const tenant = await tenantStore(ctx).get(tenantId);
  if (!tenant) ctx.out.error(`tenant ${tenantId} not found in the ${ctx.scope} scope`);
  return tenant;
}

function printFieldErrors(ctx: CliContext, heading: string, errors: readonly FieldError[]): void {
  ctx.out.result({ ok: false, errors }, () =>
    [heading, ...errors.map((error) => `  ${error.field || '(settings)'}: ${error.message}`)].join('\n'),
  );
}

const STEP_NAMES: Record<ConnectionStep, string> = {
  connect: 'TCP connect',
  tls: 'TLS handshake (implicit TLS)',
  greeting: 'server greeting (220)',
  ehlo: 'EHLO',
  starttls: 'STARTTLS upgrade',
  auth: 'authentication',
};

/** The readable report of `smtp test`: one line per step, and the failed step with the server's reply. */
export function formatConnectionReport(settings: SmtpSettings, report: ConnectionTestReport): string {
  const who = settings.auth.type === 'password' ? settings.auth.username : settings.auth.user;
  const lines = [
    `relay ${settings.host}:${settings.port} (${settings.security}, ${settings.auth.type} auth as ${who}, provider ${settings.provider})`,
  ];
  for (const step of report.steps) {
    const detail = report.ok && step === 'starttls' && report.tlsProtocol ? ` (${report.tlsProtocol})` : '';
    lines.push(`  ok      ${STEP_NAMES[step]}${detail}`);
  }
  if (report.ok) {
    lines.push(`connection test passed${report.tlsProtocol ? ` over ${report.tlsProtocol}` : ''}`);
    return lines.join('\n');
  }
  lines.push(`  FAILED  ${STEP_NAMES[report.failedStep]}: ${report.reason}`);
  if (report.reply) {
    const code = [report.reply.code, report.reply.enhancedCode].filter(Boolean).join(' ');
    lines.push(`          server replied: ${report.reply.text || code}`);
  }
  if (report.errorCode) lines.push(`          error code: ${report.errorCode}`);
  lines.push(`connection test failed at: ${report.failedStep}`);
  return lines.join('\n');
}

async function runTest(ctx: CliContext, args: CommandArgs): Promise<ExitCode> {
  const tenantId = requireOption(args, 'tenant');
  const environment = environmentOption(ctx, args);
  const caFile = args.values['ca-file'];
  let ca: string | undefined;
  if (typeof caFile === 'string') {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --ca-file ${caFile}: ${(error as Error).message}`);
    }
  }
  const tenant = await loadTenant(ctx, tenantId);
  if (!tenant) return EXIT.NOT_FOUND;
  const saved = tenant.environments[environment]?.smtp;
  if (!saved) {
    ctx.out.error(
      `tenant ${tenantId} has no SMTP settings for ${environment}: save them with \`tenant-mail smtp put\``,
    );
    return EXIT.NOT_FOUND;
  }
  const validated = validateSmtpSettings(saved, { scope: ctx.scope, tenantId });
  if (!validated.ok) {
    printFieldErrors(
      ctx,
      `the saved SMTP settings of ${tenantId}/${environment} are invalid:`,
      validated.errors,
    );
    return EXIT.CHECK_FAILED;
  }
  const settings = validated.settings;
  const secrets = secretStoreFor(ctx);
  const relay = new NodemailerRelaySender({ secrets, ...(ca ? { tls: { ca } } : {}) });
  let report: ConnectionTestReport;
  try {
    report = await relay.testConnection(settings);
  } catch (error) {
    // A credential that is missing or malformed fails before any connection: report it as its own step.
    if (!(error instanceof PermanentError)) throw error;
    const reason =
      error instanceof SecretNotFoundError
        ? `${error.message} in ${secrets.where}: save it with \`tenant-mail smtp put --password-stdin\``
        : error.message;
    ctx.out.result({ ok: false, failedStep: 'credential', reason }, () =>
      [`  FAILED  reading the credential: ${reason}`, 'connection test failed at: credential'].join('\n'),
    );
    return EXIT.CHECK_FAILED;
  } finally {
    relay.close();
  }
  ctx.out.result(report, () => formatConnectionReport(settings, report));
  return report.ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

/** Fields a settings file may carry the credential in; they are moved to the secret store, never saved. */
interface InlineSecret {
  readonly password?: unknown;
  readonly oauth2?: unknown;
}

function splitSecret(input: Record<string, unknown>): { settings: Record<string, unknown>; inline?: string } {
  const auth = input.auth;
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) return { settings: input };
  const { password, oauth2, ...rest } = auth as Record<string, unknown> & InlineSecret;
  const inline =
    typeof password === 'string' ? password : oauth2 !== undefined ? JSON.stringify(oauth2) : undefined;
  return { settings: { ...input, auth: rest }, ...(inline !== undefined ? { inline } : {}) };
}

/** Stores a secret value: the file store with `--local`, else Secrets Manager (create, or a new version). */
async function putSecret(ctx: CliContext, ref: string, value: string, tenantId: string): Promise<void> {
  if (ctx.local) {
    await new FileSecretStore({ folder: ctx.local.secretsDir ?? DEFAULT_LOCAL_SECRETS_DIR }).put(ref, value);
    return;
  }
  await putSecretsManagerValue(ctx.secrets, ref, value, [
    { Key: 'tenant-mail:scope', Value: ctx.scope },
    { Key: 'tenant-mail:tenant', Value: tenantId },
  ]);
}

async function putSecretsManagerValue(
  client: SecretsManagerClient,
  name: string,
  value: string,
  tags: { Key: string; Value: string }[],
): Promise<void> {
  try {
    await client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: value,
        Description: 'tenant-mail: tenant SMTP relay credential (written by `tenant-mail smtp put`)',
        Tags: tags,
      }),
    );
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ResourceExistsException') throw error;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
  }
}

function readSettingsFile(file: string): Record<string, unknown> {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new UsageError(`${file} must hold one JSON object of SMTP settings`);
  }
  return input as Record<string, unknown>;
}

async function runPut(ctx: CliContext, args: CommandArgs, io: Required<SmtpCommandIo>): Promise<ExitCode> {
  const tenantId = requireOption(args, 'tenant');
  const environment = environmentOption(ctx, args);
  const file = requireOption(args, 'file');
  const { settings: withoutSecret, inline } = splitSecret(readSettingsFile(file));
  const secretName = tenantSmtpSecretName(ctx.scope, tenantId);
  const auth = withoutSecret.auth;
  const input =
    typeof auth === 'object' && auth !== null && !('secretRef' in auth)
      ? { ...withoutSecret, auth: { ...auth, secretRef: secretName } }
      : withoutSecret;

  const validated = validateSmtpSettings(input, { scope: ctx.scope, tenantId });
  if (!validated.ok) {
    printFieldErrors(ctx, `invalid SMTP settings in ${file}:`, validated.errors);
    return EXIT.USAGE;
  }
  const settings = validated.settings;

  let secretValue = inline;
  if (args.values['password-stdin'] === true) secretValue = stripFinalNewline(await io.readStdin());
  if (secretValue !== undefined) {
    try {
      if (settings.auth.type === 'password') parsePasswordSecret(settings.auth.secretRef, secretValue);
      else parseOAuth2Secret(settings.auth.secretRef, secretValue);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  const tenant = await loadTenant(ctx, tenantId);
  if (!tenant) return EXIT.NOT_FOUND;
  const updated: Tenant = {
    ...tenant,
    environments: {
      ...tenant.environments,
      [environment]: {
        enabled: true,
        ...tenant.environments[environment],
        method: 'external-smtp',
        smtp: input,
      },
    },
  };
  const problems = tenantProblemsInScope(updated, ctx.scope);
  if (problems.length > 0) throw new UsageError(`invalid tenant: ${problems.join('; ')}`);

  const secrets = secretStoreFor(ctx);
  if (secretValue !== undefined) {
    // The credential first: the sender never sees settings that point at a secret not written yet.
    await putSecret(ctx, settings.auth.secretRef, secretValue, tenantId);
  } else {
    try {
      await secrets.get(settings.auth.secretRef);
    } catch (error) {
      if (!(error instanceof SecretNotFoundError)) throw error;
      throw new UsageError(
        `no credential given and none stored at ${settings.auth.secretRef} in ${secrets.where}: pass --password-stdin (the password, or the OAuth2 JSON) or auth.password / auth.oauth2 in the file`,
      );
    }
  }
  await tenantStore(ctx).put(updated);
  const summary = {
    tenantId,
    environment,
    method: 'external-smtp',
    smtp: input,
    limits: settings.limits,
    secret: { ref: settings.auth.secretRef, written: secretValue !== undefined, store: secrets.where },
  };
  ctx.out.result(summary, () =>
    [
      `saved SMTP settings of ${tenantId}/${environment}: method external-smtp via ${settings.host}:${settings.port} (${settings.security}, provider ${settings.provider})`,
      secretValue !== undefined
        ? `credential stored as ${settings.auth.secretRef} in ${secrets.where}`
        : `credential unchanged: ${settings.auth.secretRef} in ${secrets.where}`,
      `effective limits: ${JSON.stringify(settings.limits)}`,
      `check it with: tenant-mail smtp test --tenant ${tenantId} --env ${environment}${ctx.local ? ' --local' : ''}`,
    ].join('\n'),
  );
  return EXIT.OK;
}

function stripFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** The `smtp` command group; `io` lets tests feed standard input. */
export function createSmtpCommands(io: SmtpCommandIo = {}): CliCommand[] {
  const resolved: Required<SmtpCommandIo> = { readStdin: io.readStdin ?? readProcessStdin };
  return [
    {
      group: 'smtp',
      name: 'test',
      summary:
        "connect to a tenant's relay: TCP, TLS, greeting, EHLO, STARTTLS, AUTH; names the failing step",
      usage: '--tenant T --env E [--ca-file relay-ca.pem]',
      options: { tenant: { type: 'string' }, env: { type: 'string' }, 'ca-file': { type: 'string' } },
      run: (ctx, args) => runTest(ctx, args),
    },
    {
      group: 'smtp',
      name: 'put',
      summary:
        "validate and save a tenant's SMTP relay settings for one environment, and store its credential",
      usage: '--tenant T --env E --file settings.json [--password-stdin]',
      options: {
        tenant: { type: 'string' },
        env: { type: 'string' },
        file: { type: 'string' },
        'password-stdin': { type: 'boolean', default: false },
      },
      run: (ctx, args) => runPut(ctx, args, resolved),
    },
  ];
}

export const commands: CliCommand[] = createSmtpCommands();
