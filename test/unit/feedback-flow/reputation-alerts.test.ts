import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, powertoolsReputationAlerts } from '../../../lambdas/handlers/process-feedback';

describe('powertoolsReputationAlerts', () => {
  it('emits one EMF record per alert in the TenantMail namespace with service and tenant dimensions', () => {
    const lines: string[] = [];
    // Powertools writes EMF to its own console on stdout (the Lambda log stream).
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
    try {
      const alerts = powertoolsReputationAlerts(
        new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'tenant-mail' }),
      );
      alerts.emit('acme', 'pause');
      alerts.emit('globex', 'warn');
    } finally {
      spy.mockRestore();
    }
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({ service: 'tenant-mail', tenant: 'acme', ReputationPause: 1 }),
      expect.objectContaining({ service: 'tenant-mail', tenant: 'globex', ReputationWarn: 1 }),
    ]);
    expect(records[0]?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: 'TenantMail',
          Dimensions: [['service', 'tenant']],
          Metrics: [{ Name: 'ReputationPause', Unit: 'Count' }],
        },
      ],
    });
  });
});
