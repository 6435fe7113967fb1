import { type Environment, SCOPE_ENVIRONMENTS, SCOPES, type Scope } from '../../lambdas/domain/scope';

/** Everything one verification-scope deployment needs; one of these per CDK stage. */
export interface ScopeConfig {
  readonly scope: Scope;
  /** The platform environments this deployment serves; events for any other are refused. */
  readonly environments: readonly Environment[];
  /** AWS account; unset means the CLI's current account at deploy time. */
  readonly account?: string;
  readonly region: string;
  /** The platform's sending domain, verified in this scope's SES (Easy DKIM). */
  readonly senderDomain: string;
  /** Local part of the platform's default From address. @default 'notifications' */
  readonly senderLocalPart: string;
  /** Days a message record (history, timeline) is kept before DynamoDB TTL removes it. @default 90 */
  readonly messageRetentionDays: number;
  /** Keep tables and keys when the stack is deleted. Always true for `prod`. */
  readonly retainData: boolean;
  /** SNS topic or email for alarms; optional. */
  readonly alarmEmail?: string;
  /**
   * Who may publish platform events to this scope's events queue (`sqs:SendMessage`, which also covers
   * `SendMessageBatch`): 12-digit AWS account ids and/or IAM role ARNs, granted by the queue's resource policy.
   * @default [] (only principals granted in this app, see `ScopeStage.grantPublish`)
   */
  readonly producers: readonly string[];
}

/** Raw per-scope settings as written in `cdk.json` context (`tenantMail.scopes.<scope>`) or the environment. */
export interface RawScopeSettings {
  readonly account?: unknown;
  readonly region?: unknown;
  readonly senderDomain?: unknown;
  readonly senderLocalPart?: unknown;
  readonly messageRetentionDays?: unknown;
  readonly retainData?: unknown;
  readonly alarmEmail?: unknown;
  /** A list, or (from the environment) one comma-separated string. */
  readonly producers?: unknown;
}

export class ScopeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScopeConfigError';
  }
}

const DOMAIN = /^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ACCOUNT = /^\d{12}$/;

/** A 12-digit AWS account id (as opposed to a role ARN, in a `producers` entry). */
export function isAccountId(value: string): boolean {
  return ACCOUNT.test(value);
}
/** An IAM role ARN in any partition, with an optional path (IAM's own character set for names and paths). */
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

function text(scope: Scope, field: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new ScopeConfigError(`tenantMail.scopes.${scope}.${field} must be a string`);
  return value.trim();
}

/** SQS's quota of principals per queue policy (50), less the `*` of the queue's TLS-only deny statement. */
const MAX_PRODUCERS = 49;

function producers(scope: Scope, value: unknown): readonly string[] {
  if (value === undefined || value === null || value === '') return [];
  const entries = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(entries) || entries.some((entry) => typeof entry !== 'string')) {
    throw new ScopeConfigError(
      `tenantMail.scopes.${scope}.producers must be a list of AWS account ids and/or IAM role ARNs`,
    );
  }
  const trimmed = (entries as string[]).map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of trimmed) {
    if (!ACCOUNT.test(entry) && !ROLE_ARN.test(entry)) {
      throw new ScopeConfigError(
        `tenantMail.scopes.${scope}.producers entry "${entry}" is neither a 12-digit AWS account id nor an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
      );
    }
  }
  const unique = [...new Set(trimmed)];
  if (unique.length > MAX_PRODUCERS) {
    throw new ScopeConfigError(
      `tenantMail.scopes.${scope}.producers lists ${unique.length} principals; an SQS queue policy names at most 50 and the TLS-only rule takes one, so at most ${MAX_PRODUCERS} (list an account id instead of its roles)`,
    );
  }
  return unique;
}

/**
 * Validates one scope's settings and fills defaults. Throws {@link ScopeConfigError} naming the exact
 * setting, so `cdk synth` fails before anything is deployed.
 */
export function resolveScopeConfig(scope: Scope, raw: RawScopeSettings): ScopeConfig {
  const region = text(scope, 'region', raw.region);
  if (!region) throw new ScopeConfigError(`tenantMail.scopes.${scope}.region is required (e.g. "eu-west-1")`);
  if (!REGION.test(region))
    throw new ScopeConfigError(`tenantMail.scopes.${scope}.region "${region}" is not an AWS region`);
  const account = text(scope, 'account', raw.account);
  if (account !== undefined && !ACCOUNT.test(account)) {
    throw new ScopeConfigError(
      `tenantMail.scopes.${scope}.account "${account}" must be a 12-digit AWS account id`,
    );
  }
  const senderDomain = text(scope, 'senderDomain', raw.senderDomain)?.toLowerCase().replace(/\.$/, '');
  if (!senderDomain) {
    throw new ScopeConfigError(
      `tenantMail.scopes.${scope}.senderDomain is required (the platform's sending domain)`,
    );
  }
  if (!DOMAIN.test(senderDomain)) {
    throw new ScopeConfigError(
      `tenantMail.scopes.${scope}.senderDomain "${senderDomain}" is not a valid domain name`,
    );
  }
  const senderLocalPart = text(scope, 'senderLocalPart', raw.senderLocalPart) ?? 'notifications';
  if (!/^[a-z0-9._+-]{1,64}$/i.test(senderLocalPart)) {
    throw new ScopeConfigError(
      `tenantMail.scopes.${scope}.senderLocalPart "${senderLocalPart}" is not a valid local part`,
    );
  }
  const retention = raw.messageRetentionDays ?? 90;
  const messageRetentionDays = typeof retention === 'string' ? Number(retention) : retention;
  if (
    typeof messageRetentionDays !== 'number' ||
    !Number.isInteger(messageRetentionDays) ||
    messageRetentionDays < 1
  ) {
    throw new ScopeConfigError(
      `tenantMail.scopes.${scope}.messageRetentionDays must be a whole number of days ≥ 1`,
    );
  }
  const retainRequested =
    raw.retainData === undefined ? true : raw.retainData === true || raw.retainData === 'true';
  if (scope === 'prod' && !retainRequested) {
    throw new ScopeConfigError(
      'tenantMail.scopes.prod.retainData cannot be false: production data is always retained',
    );
  }
  const alarmEmail = text(scope, 'alarmEmail', raw.alarmEmail);
  return {
    scope,
    environments: SCOPE_ENVIRONMENTS[scope],
    ...(account ? { account } : {}),
    region,
    senderDomain,
    senderLocalPart,
    messageRetentionDays,
    retainData: scope === 'prod' ? true : retainRequested,
    ...(alarmEmail ? { alarmEmail } : {}),
    producers: producers(scope, raw.producers),
  };
}

/**
 * Reads every scope from the `tenantMail` context object, with `TENANT_MAIL_<SCOPE>_<SETTING>` environment
 * variables (e.g. `TENANT_MAIL_PROD_ACCOUNT`) taking precedence, so CI can deploy without editing cdk.json.
 */
export function loadScopeConfigs(
  context: unknown,
  env: Record<string, string | undefined> = process.env,
): Record<Scope, ScopeConfig> {
  const scopes = (context as { scopes?: Record<string, RawScopeSettings> } | undefined)?.scopes ?? {};
  const unknown = Object.keys(scopes).filter((name) => !(SCOPES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new ScopeConfigError(
      `tenantMail.scopes has unknown scope(s) ${unknown.join(', ')}; expected ${SCOPES.join(', ')}`,
    );
  }
  const fromEnv = (scope: Scope, setting: string) => env[`TENANT_MAIL_${scope.toUpperCase()}_${setting}`];
  const result = {} as Record<Scope, ScopeConfig>;
  for (const scope of SCOPES) {
    const raw: RawScopeSettings = scopes[scope] ?? {};
    result[scope] = resolveScopeConfig(scope, {
      ...raw,
      account: fromEnv(scope, 'ACCOUNT') ?? raw.account,
      region: fromEnv(scope, 'REGION') ?? raw.region,
      senderDomain: fromEnv(scope, 'SENDER_DOMAIN') ?? raw.senderDomain,
      alarmEmail: fromEnv(scope, 'ALARM_EMAIL') ?? raw.alarmEmail,
      producers: fromEnv(scope, 'PRODUCERS') ?? raw.producers,
    });
  }
  return result;
}
