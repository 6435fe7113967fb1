import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { RefreshIncompleteError } from '../domain/identity/identity-errors';
import type { RefreshOutcome } from '../domain/identity/identity-ports';
import type { IdentityService } from '../domain/identity/identity-service';
import * as z from '../shared/zod';

/**
 * The event: an EventBridge scheduled event (its fields are ignored) or a custom input such as
 * `{ "includeVerified": true }` (a daily re-check of verified identities) or `{ "tenantIds": ["acme"] }`.
 */
const refreshEventSchema = z.looseObject({
  includeVerified: z.optional(z.boolean()),
  tenantIds: z.optional(z.array(z.string().check(z.minLength(1)))),
});

export interface RefreshSummary {
  readonly checked: number;
  readonly changed: number;
  readonly verified: number;
  readonly pending: number;
  readonly missingInSes: number;
  readonly failed: number;
}

export function summarise(outcomes: readonly RefreshOutcome[]): RefreshSummary {
  return {
    checked: outcomes.length,
    changed: outcomes.filter((o) => o.changed).length,
    verified: outcomes.filter((o) => o.status === 'SUCCESS').length,
    pending: outcomes.filter((o) => o.status !== undefined && o.status !== 'SUCCESS').length,
    missingInSes: outcomes.filter((o) => o.missingInSes).length,
    failed: outcomes.filter((o) => o.error !== undefined).length,
  };
}

/**
 * Scheduled adapter of the identity refresh: reads every tenant's not-yet-verified identities (all with
 * `includeVerified`) from SES and stores their status. Each change is logged; when some identities could not be
 * read the invocation fails with RefreshIncompleteError after the others were stored (errors metric, alarm, retry).
 */
export function createRefreshIdentitiesHandler(
  service: Pick<IdentityService, 'refreshAll'>,
  settings: { readonly includeVerified: boolean },
  logger = new Logger({ serviceName: 'tenant-mail' }),
) {
  return middy(async (event: unknown, _context: Context): Promise<RefreshSummary> => {
    const input = refreshEventSchema.safeParse(event ?? {});
    const options = input.success ? input.data : {};
    const outcomes = await service.refreshAll({
      includeVerified: options.includeVerified ?? settings.includeVerified,
      ...(options.tenantIds ? { tenantIds: options.tenantIds } : {}),
    });
    for (const outcome of outcomes) {
      if (outcome.changed) logger.info('identity status changed', { ...outcome });
    }
    const summary = summarise(outcomes);
    logger.info('identity refresh finished', { ...summary });
    const failures = outcomes.filter((o) => o.error !== undefined);
    if (failures.length > 0) throw new RefreshIncompleteError(failures);
    return summary;
  }).use(injectLambdaContext(logger));
}
