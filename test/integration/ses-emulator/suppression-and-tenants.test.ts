import {
  AlreadyExistsException,
  CreateConfigurationSetCommand,
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  DeleteSuppressedDestinationCommand,
  GetSuppressedDestinationCommand,
  GetTenantCommand,
  ListSuppressedDestinationsCommand,
  ListTenantResourcesCommand,
  ListTenantsCommand,
  NotFoundException,
  PutSuppressedDestinationCommand,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesHarness, startSesHarness, verifiedDomain } from './ses-emulator-harness';

const arn = (resource: string) => `arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;

describe('SES emulator suppression list', () => {
  let harness: SesHarness;

  beforeAll(async () => {
    harness = await startSesHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  it('puts, gets, lists by reason and deletes suppressed destinations', async () => {
    await harness.ses.send(
      new PutSuppressedDestinationCommand({ EmailAddress: 'Hard@Example.org', Reason: 'BOUNCE' }),
    );
    await harness.ses.send(
      new PutSuppressedDestinationCommand({ EmailAddress: 'angry@example.org', Reason: 'COMPLAINT' }),
    );

    const { SuppressedDestination } = await harness.ses.send(
      new GetSuppressedDestinationCommand({ EmailAddress: 'hard@example.org' }),
    );
    expect(SuppressedDestination).toMatchObject({ EmailAddress: 'hard@example.org', Reason: 'BOUNCE' });
    expect(SuppressedDestination?.LastUpdateTime).toBeInstanceOf(Date);

    const bounces = await harness.ses.send(new ListSuppressedDestinationsCommand({ Reasons: ['BOUNCE'] }));
    expect(bounces.SuppressedDestinationSummaries?.map((entry) => entry.EmailAddress)).toEqual([
      'hard@example.org',
    ]);
    const all = await harness.ses.send(new ListSuppressedDestinationsCommand({}));
    expect(all.SuppressedDestinationSummaries).toHaveLength(2);

    await harness.ses.send(new DeleteSuppressedDestinationCommand({ EmailAddress: 'hard@example.org' }));
    await expect(
      harness.ses.send(new GetSuppressedDestinationCommand({ EmailAddress: 'hard@example.org' })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('refuses an unknown reason with BadRequestException', async () => {
    await expect(
      harness.ses.send(
        new PutSuppressedDestinationCommand({ EmailAddress: 'x@example.org', Reason: 'SPAM' as 'BOUNCE' }),
      ),
    ).rejects.toMatchObject({ name: 'BadRequestException' });
  });
});

describe('SES emulator tenants', () => {
  let harness: SesHarness;

  beforeAll(async () => {
    harness = await startSesHarness({ maxSendRate: 1000 });
    await verifiedDomain(harness, 'acme.example');
    await harness.ses.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'prod-set' }));
  });

  afterAll(async () => {
    await harness.stop();
  });

  const sendAs = (TenantName: string) =>
    harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@acme.example',
        Destination: { ToAddresses: ['customer@example.org'] },
        ConfigurationSetName: 'prod-set',
        TenantName,
        Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: 'x' } } } },
      }),
    );

  it('creates, gets and lists tenants, refusing a duplicate name', async () => {
    const created = await harness.ses.send(
      new CreateTenantCommand({ TenantName: 'acme', Tags: [{ Key: 'plan', Value: 'gold' }] }),
    );
    expect(created).toMatchObject({
      TenantName: 'acme',
      SendingStatus: 'ENABLED',
      Tags: [{ Key: 'plan', Value: 'gold' }],
    });
    expect(created.TenantArn).toBe(arn(`tenant/acme/${created.TenantId}`));
    expect(created.CreatedTimestamp).toBeInstanceOf(Date);

    const { Tenant } = await harness.ses.send(new GetTenantCommand({ TenantName: 'acme' }));
    expect(Tenant?.TenantId).toBe(created.TenantId);
    const { Tenants } = await harness.ses.send(new ListTenantsCommand({}));
    expect(Tenants?.map((tenant) => tenant.TenantName)).toContain('acme');
    await expect(harness.ses.send(new CreateTenantCommand({ TenantName: 'acme' }))).rejects.toBeInstanceOf(
      AlreadyExistsException,
    );
    await expect(harness.ses.send(new GetTenantCommand({ TenantName: 'nobody' }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
  });

  it('refuses SendEmail with TenantName until the identity and configuration set are associated', async () => {
    await harness.ses.send(new CreateTenantCommand({ TenantName: 'globex' }));
    await expect(sendAs('globex')).rejects.toMatchObject({
      name: 'BadRequestException',
      message: 'Identity acme.example is not associated with tenant globex.',
    });
    await harness.ses.send(
      new CreateTenantResourceAssociationCommand({
        TenantName: 'globex',
        ResourceArn: arn('identity/acme.example'),
      }),
    );
    await expect(sendAs('globex')).rejects.toMatchObject({
      message: 'Configuration set prod-set is not associated with tenant globex.',
    });
    await harness.ses.send(
      new CreateTenantResourceAssociationCommand({
        TenantName: 'globex',
        ResourceArn: arn('configuration-set/prod-set'),
      }),
    );
    const sent = await sendAs('globex');
    expect(
      harness.emulator.store.messages.find((message) => message.messageId === sent.MessageId)?.tenantName,
    ).toBe('globex');

    const { TenantResources } = await harness.ses.send(
      new ListTenantResourcesCommand({ TenantName: 'globex' }),
    );
    expect(TenantResources).toEqual([
      { ResourceType: 'EMAIL_IDENTITY', ResourceArn: arn('identity/acme.example') },
      { ResourceType: 'CONFIGURATION_SET', ResourceArn: arn('configuration-set/prod-set') },
    ]);
  });

  it('answers NotFoundException for an unknown tenant or resource', async () => {
    await expect(sendAs('initech')).rejects.toBeInstanceOf(NotFoundException);
    await expect(
      harness.ses.send(
        new CreateTenantResourceAssociationCommand({
          TenantName: 'acme',
          ResourceArn: arn('identity/none.example'),
        }),
      ),
    ).rejects.toBeInstanceOf(NotFoundException);
  });
});
