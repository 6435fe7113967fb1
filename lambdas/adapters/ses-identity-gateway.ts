import {
  CreateEmailIdentityCommand,
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  DeleteEmailIdentityCommand,
  DeleteTenantResourceAssociationCommand,
  type DkimAttributes,
  GetEmailIdentityCommand,
  GetTenantCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { VERIFICATION_STATUSES, type VerificationStatus } from '../domain/identity/identity';
import {
  SesIdentityExistsError,
  SesRequestRejectedError,
  SesUnavailableError,
} from '../domain/identity/identity-errors';
import type { SesIdentityGateway, SesIdentityState } from '../domain/identity/identity-ports';

/** SES answers that mean "try again later" rather than "this request is wrong". */
const RETRYABLE = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'InternalServiceErrorException',
  'ServiceUnavailableException',
]);

interface SdkErrorView {
  readonly name?: string;
  readonly message?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const view = (error: unknown): SdkErrorView => (typeof error === 'object' && error !== null ? error : {});
const isNamed = (error: unknown, name: string): boolean => view(error).name === name;

/**
 * Maps an SDK error to the domain's: throttling, 5xx and network failures (no HTTP answer) are transient,
 * other SES answers are a refusal naming SES's error code.
 */
function sesError(action: string, error: unknown): Error {
  const e = view(error);
  const status = e.$metadata?.httpStatusCode;
  const detail = e.message || e.name || String(error);
  if (e.$fault === 'server' || RETRYABLE.has(e.name ?? '') || status === undefined || status >= 500) {
    return new SesUnavailableError(action, detail, { cause: error });
  }
  return new SesRequestRejectedError(action, e.name ?? 'Error', detail, { cause: error });
}

const asStatus = (value: unknown): VerificationStatus | undefined =>
  typeof value === 'string' && (VERIFICATION_STATUSES as readonly string[]).includes(value)
    ? (value as VerificationStatus)
    : undefined;

function state(input: {
  VerifiedForSendingStatus?: boolean | undefined;
  VerificationStatus?: string | undefined;
  DkimAttributes?: DkimAttributes | undefined;
}): SesIdentityState {
  const verificationStatus = asStatus(input.VerificationStatus);
  const dkimStatus = asStatus(input.DkimAttributes?.Status);
  return {
    verifiedForSending: input.VerifiedForSendingStatus === true,
    ...(verificationStatus ? { verificationStatus } : {}),
    ...(dkimStatus ? { dkimStatus } : {}),
    dkimTokens: [...(input.DkimAttributes?.Tokens ?? [])],
  };
}

/**
 * SES v2 implementation of the identity use cases' gateway, for one scope's account and region:
 * Create/Get/DeleteEmailIdentity, Get/CreateTenant and tenant resource associations. Repeatable calls
 * (tenant creation, associations, deletion) treat "already there" / "already gone" as success.
 * Resource ARNs are built from the SES tenant's own ARN (`arn:<partition>:ses:<region>:<account>:tenant/…`),
 * so no account id needs configuring.
 */
export class SesV2IdentityGateway implements SesIdentityGateway {
  /** `arn:<partition>:ses:<region>:<account>:` per SES tenant name, learnt from Get/CreateTenant. */
  private readonly arnPrefixes = new Map<string, string>();

  /** @param client created once per container; tests point it at the local SES emulator. */
  constructor(private readonly client: SESv2Client) {}

  async createIdentity(identity: string): Promise<SesIdentityState> {
    try {
      return state(await this.client.send(new CreateEmailIdentityCommand({ EmailIdentity: identity })));
    } catch (error) {
      if (isNamed(error, 'AlreadyExistsException'))
        throw new SesIdentityExistsError(identity, { cause: error });
      throw sesError('CreateEmailIdentity', error);
    }
  }

  async getIdentity(identity: string): Promise<SesIdentityState | undefined> {
    try {
      return state(await this.client.send(new GetEmailIdentityCommand({ EmailIdentity: identity })));
    } catch (error) {
      if (isNamed(error, 'NotFoundException')) return undefined;
      throw sesError('GetEmailIdentity', error);
    }
  }

  async deleteIdentity(identity: string): Promise<void> {
    try {
      await this.client.send(new DeleteEmailIdentityCommand({ EmailIdentity: identity }));
    } catch (error) {
      if (isNamed(error, 'NotFoundException')) return;
      throw sesError('DeleteEmailIdentity', error);
    }
  }

  async ensureTenant(tenantName: string): Promise<{ readonly created: boolean }> {
    if (await this.tenantArnPrefix(tenantName)) return { created: false };
    try {
      const created = await this.client.send(new CreateTenantCommand({ TenantName: tenantName }));
      this.remember(tenantName, created.TenantArn);
      return { created: true };
    } catch (error) {
      // A concurrent add created it first.
      if (isNamed(error, 'AlreadyExistsException') && (await this.tenantArnPrefix(tenantName)))
        return { created: false };
      throw sesError('CreateTenant', error);
    }
  }

  async associateIdentity(tenantName: string, identity: string): Promise<void> {
    await this.associate(tenantName, `identity/${identity}`);
  }

  async associateConfigurationSet(tenantName: string, configurationSetName: string): Promise<void> {
    await this.associate(tenantName, `configuration-set/${configurationSetName}`);
  }

  async dissociateIdentity(tenantName: string, identity: string): Promise<void> {
    const prefix = await this.tenantArnPrefix(tenantName);
    if (!prefix) return;
    try {
      await this.client.send(
        new DeleteTenantResourceAssociationCommand({
          TenantName: tenantName,
          ResourceArn: `${prefix}identity/${identity}`,
        }),
      );
    } catch (error) {
      if (isNamed(error, 'NotFoundException')) return;
      throw sesError('DeleteTenantResourceAssociation', error);
    }
  }

  private async associate(tenantName: string, resource: string): Promise<void> {
    const prefix = await this.tenantArnPrefix(tenantName);
    if (!prefix) {
      throw new SesRequestRejectedError(
        'CreateTenantResourceAssociation',
        'NotFoundException',
        `Tenant ${tenantName} does not exist.`,
      );
    }
    try {
      await this.client.send(
        new CreateTenantResourceAssociationCommand({
          TenantName: tenantName,
          ResourceArn: `${prefix}${resource}`,
        }),
      );
    } catch (error) {
      if (isNamed(error, 'AlreadyExistsException')) return;
      throw sesError('CreateTenantResourceAssociation', error);
    }
  }

  /** The ARN prefix of the SES tenant's account and region; undefined when the tenant does not exist. */
  private async tenantArnPrefix(tenantName: string): Promise<string | undefined> {
    const known = this.arnPrefixes.get(tenantName);
    if (known) return known;
    try {
      const { Tenant } = await this.client.send(new GetTenantCommand({ TenantName: tenantName }));
      return this.remember(tenantName, Tenant?.TenantArn);
    } catch (error) {
      if (isNamed(error, 'NotFoundException')) return undefined;
      throw sesError('GetTenant', error);
    }
  }

  private remember(tenantName: string, tenantArn: string | undefined): string | undefined {
    const match = tenantArn?.match(/^(arn:[^:]+:ses:[^:]+:[^:]+:)tenant\//);
    if (!match?.[1]) return undefined;
    this.arnPrefixes.set(tenantName, match[1]);
    return match[1];
  }
}
