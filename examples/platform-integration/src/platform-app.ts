import { App, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { resolveScopeConfig, ScopeStage } from 'tenant-mail';

export const PLATFORM_ACCOUNT = '111122223333';
/** The platform's reporting account, whose services also publish events. */
export const REPORTING_ACCOUNT = '444455556666';

/**
 * The platform's own CDK app: tenant-mail's prod scope as one stage, and the billing service (a stack of the same
 * account) whose role may publish events to it.
 */
export function buildPlatformApp(app = new App()) {
  const config = resolveScopeConfig('prod', {
    account: PLATFORM_ACCOUNT,
    region: 'eu-west-1',
    senderDomain: 'mail.platform.example',
    producers: [REPORTING_ACCOUNT],
  });
  const mail = new ScopeStage(app, 'prod', { config });
  const billing = new Stack(app, 'Billing', { env: { account: PLATFORM_ACCOUNT, region: 'eu-west-1' } });
  const invoicePublisher = new Role(billing, 'InvoicePublisher', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  });
  mail.grantPublish(invoicePublisher);
  return { app, mail, billing, invoicePublisher };
}
