import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type SweepDeps, type SweepResult, sweepStuck } from '../domain/message/sweep-stuck';

/**
 * Namespace and names of the sweeper's metrics: the stack's `StuckMessages` alarm watches `MessagesSwept`, its
 * `SweeperBehind` alarm `SweepBehind` (1 when a run ended before its walk reached the clock, 0 when it caught up).
 */
export const SWEEP_METRICS = {
  namespace: 'TenantMail',
  swept: 'MessagesSwept',
  unrecoverable: 'MessagesUnrecoverable',
  behind: 'SweepBehind',
};

/**
 * The sweeper's scheduled adapter (EventBridge, every 5 minutes): one run of `sweepStuck` (as many rounds of the
 * walk as the backlog needs and the timeout allows), its counts logged and
 * published as metrics. Anything swept means a crash or a lost queue message happened: the alarm tells operators.
 * A run that ends behind is normal after a burst; runs that keep ending behind mean the index grows faster than
 * the sweeper walks it (raise `SWEEP_ENTRIES_PER_RUN`): a stuck email would then be found ever later.
 * The index entries of emails that finished normally (`passed`, most of what a run reads) are logged, never
 * counted as swept.
 */
export function createSweepStuckHandler(
  deps: SweepDeps,
  logger = new Logger({ serviceName: 'tenant-mail' }),
  metrics = new Metrics({ namespace: SWEEP_METRICS.namespace, serviceName: 'tenant-mail' }),
) {
  return middy(async (_event: unknown, context: Context): Promise<SweepResult> => {
    const result = await sweepStuck(deps, () => context.getRemainingTimeInMillis());
    const swept = result.requeued + result.completed + result.unrecoverable;
    metrics.addMetric(SWEEP_METRICS.swept, MetricUnit.Count, swept);
    metrics.addMetric(SWEEP_METRICS.unrecoverable, MetricUnit.Count, result.unrecoverable);
    metrics.addMetric(SWEEP_METRICS.behind, MetricUnit.Count, result.caughtUp ? 0 : 1);
    metrics.publishStoredMetrics();
    if (swept > 0) logger.warn('stuck messages swept', { ...result });
    else logger.info('sweep found nothing to finish', { ...result });
    return result;
  }).use(injectLambdaContext(logger));
}
