import { type AdminClientOptions, AdminContext } from './admin-context';
import { DeadLettersApi } from './dead-letters';
import { IdentitiesApi } from './identities';
import { MessagesApi } from './messages';
import { DefinitionsApi, EventsApi, TemplatesApi } from './notifications';
import { runSelftest, type SelftestOptions, type SelftestResult } from './selftest';
import { SmtpApi } from './smtp';
import { SuppressionsApi } from './suppressions';
import { TenantsApi } from './tenants';

export type { AdminAwsClients, AdminClientOptions } from './admin-context';
export { AdminInputError, AdminNotFoundError, type ErrorKind, errorKind } from './admin-errors';

/**
 * Every operator capability of one scope's deployment as one typed API over the domain services, with their
 * validation and named errors: what the `tenant-mail` CLI runs, and what a platform's admin backend calls.
 * The caller creates the AWS SDK clients (credentials, region, endpoints: AWS or the local twin alike) and
 * destroys them; the admin client holds no other resources. `errorKind(error)` sorts any error it throws
 * into invalid input, not found, unavailable or internal.
 *
 * ```ts
 * const admin = createAdminClient({ scope: 'prod', clients: { dynamodb, ses, sqs, secrets } });
 * const page = await admin.messages.list({ tenantId: 'acme', failed: true });
 * ```
 */
export class AdminClient {
  readonly tenants: TenantsApi;
  readonly identities: IdentitiesApi;
  readonly smtp: SmtpApi;
  readonly definitions: DefinitionsApi;
  readonly templates: TemplatesApi;
  readonly events: EventsApi;
  readonly suppressions: SuppressionsApi;
  readonly messages: MessagesApi;
  readonly deadLetters: DeadLettersApi;
  private readonly ctx: AdminContext;

  constructor(options: AdminClientOptions) {
    this.ctx = new AdminContext(options);
    this.tenants = new TenantsApi(this.ctx);
    this.identities = new IdentitiesApi(this.ctx);
    this.smtp = new SmtpApi(this.ctx);
    this.definitions = new DefinitionsApi(this.ctx);
    this.templates = new TemplatesApi(this.ctx, this.definitions);
    this.events = new EventsApi(this.ctx);
    this.suppressions = new SuppressionsApi(this.ctx);
    this.messages = new MessagesApi(this.ctx, this.suppressions);
    this.deadLetters = new DeadLettersApi(this.ctx);
  }

  get scope(): AdminClientOptions['scope'] {
    return this.ctx.scope;
  }

  /** Sends to every SES mailbox-simulator address through the tenant's method and reports what came back. */
  selftest(tenantId: string, env: string, options?: SelftestOptions): Promise<SelftestResult> {
    return runSelftest(this.ctx, tenantId, env, options);
  }
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  return new AdminClient(options);
}
