import { DynamoReputationStore } from '../lambdas/adapters/reputation-store';
import { DynamoTenantPauseStore } from '../lambdas/adapters/tenant-pause-store';
import {
  DEFAULT_REPUTATION_CONFIG,
  evaluate,
  type ReputationEvaluation,
} from '../lambdas/domain/feedback/reputation-guard';
import {
  type PauseResult,
  pauseTenant,
  type ResumeResult,
  resumeTenant,
} from '../lambdas/domain/feedback/tenant-pause';
import { describeIssues } from '../lambdas/domain/sending/send-request';
import { type Tenant, tenantProblemsInScope, tenantSchema } from '../lambdas/domain/tenant';
import { ZodError } from '../lambdas/shared/zod';
import type { AdminContext } from './admin-context';
import { AdminInputError, AdminNotFoundError } from './admin-errors';

export interface TenantPutResult {
  readonly tenant: Tenant;
  /** Environments that stay paused (a pause is lifted only by `resume`, which also releases held mail). */
  readonly stillPaused: readonly { readonly environment: string; readonly reason: string }[];
}

export interface TenantResumeResult extends ResumeResult {
  /** The tenant's reputation window under the default thresholds, to judge whether it pauses again. */
  readonly reputation: ReputationEvaluation;
}

/** Tenants: profile and per-environment settings, and the operator's pause/resume. */
export class TenantsApi {
  constructor(private readonly ctx: AdminContext) {}

  /**
   * Creates or replaces a tenant. Validated by the domain's schema and scope rules; keeps what other
   * operations own (the SES tenant name set by identity operations, and a pause).
   */
  async put(input: unknown): Promise<TenantPutResult> {
    let parsed: Tenant;
    try {
      parsed = tenantSchema.parse(input);
    } catch (error) {
      if (error instanceof ZodError)
        throw new AdminInputError(`invalid tenant: ${describeIssues(error)}`, 'INVALID_TENANT');
      throw error;
    }
    const problems = tenantProblemsInScope(parsed, this.ctx.scope);
    if (problems.length > 0)
      throw new AdminInputError(`invalid tenant: ${problems.join('; ')}`, 'INVALID_TENANT');
    const store = this.ctx.tenantStore();
    const existing = await store.get(parsed.tenantId);
    const stillPaused: { environment: string; reason: string }[] = [];
    for (const [environment, settings] of Object.entries(parsed.environments)) {
      const before = existing?.environments[environment as keyof typeof parsed.environments];
      if (settings && !settings.sesTenantName && before?.sesTenantName)
        settings.sesTenantName = before.sesTenantName;
      if (settings && !settings.paused && before?.paused) {
        settings.paused = before.paused;
        stillPaused.push({ environment, reason: before.paused.reason });
      }
    }
    return { tenant: await store.put(parsed), stillPaused };
  }

  /** @throws AdminNotFoundError */
  async get(tenantId: string): Promise<Tenant> {
    const tenant = await this.ctx.tenantStore().get(tenantId);
    if (!tenant)
      throw new AdminNotFoundError('tenant', `tenant ${tenantId} not found in the ${this.ctx.scope} scope`);
    return tenant;
  }

  async list(): Promise<Tenant[]> {
    return this.ctx.tenantStore().list();
  }

  /** Holds the tenant's mail as PAUSED in every environment until `resume`. @throws UnknownTenantError */
  async pause(tenantId: string, reason: string): Promise<PauseResult> {
    if (reason.trim() === '') throw new AdminInputError('a reason is required to pause a tenant');
    return pauseTenant(tenantId, `operator: ${reason}`, {
      pauses: this.pauseStore(),
      clock: { now: this.ctx.now },
    });
  }

  /** Lifts the pause and sends what was held, through the send lanes. @throws UnknownTenantError */
  async resume(tenantId: string): Promise<TenantResumeResult> {
    const result = await resumeTenant(tenantId, {
      pauses: this.pauseStore(),
      ledger: this.ctx.ledger(),
      lanes: await this.ctx.lanes(),
    });
    const window = await new DynamoReputationStore(
      this.ctx.documents,
      this.ctx.tableName('counters'),
    ).readWindow(tenantId, this.ctx.now(), DEFAULT_REPUTATION_CONFIG.windowHours);
    return { ...result, reputation: evaluate(window) };
  }

  private pauseStore(): DynamoTenantPauseStore {
    return new DynamoTenantPauseStore(this.ctx.documents, this.ctx.tableName('tenants'));
  }
}
