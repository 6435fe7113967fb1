import { randomUUID } from 'node:crypto';
import { alreadyExists, badRequest, notFound } from './api-errors';
import { configurationSetArn, type EmulatorContext, identityArn, tenantArn } from './emulator-context';
import type { TenantRecord, TenantResourceRecord } from './emulator-store';
import type { ApiRequest, ApiResponse } from './http-router';
import { normaliseIdentity } from './identity-operations';
import {
  epochSeconds,
  optionalObject,
  optionalString,
  paginate,
  requiredString,
  tagList,
} from './request-fields';

function findTenant(ctx: EmulatorContext, name: string): TenantRecord {
  const tenant = ctx.store.tenants.get(name);
  if (!tenant) throw notFound(`Tenant ${name} does not exist.`);
  return tenant;
}

const tenantJson = (tenant: TenantRecord) => ({
  TenantName: tenant.name,
  TenantId: tenant.id,
  TenantArn: tenant.arn,
  CreatedTimestamp: epochSeconds(tenant.createdAt),
  Tags: tenant.tags,
  SendingStatus: tenant.sendingStatus,
  ...(tenant.suppressionAttributes ? { SuppressionAttributes: tenant.suppressionAttributes } : {}),
});

export function createTenant(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const name = requiredString(request.body, 'TenantName');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw badRequest(`Invalid tenant name ${name}.`);
  if (ctx.store.tenants.has(name)) throw alreadyExists(`Tenant ${name} already exists.`);
  const id = `tn-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  const suppressionAttributes = optionalObject(request.body, 'SuppressionAttributes');
  const tenant: TenantRecord = {
    name,
    id,
    arn: tenantArn(ctx, name, id),
    createdAt: Date.now(),
    tags: tagList(request.body),
    sendingStatus: 'ENABLED',
    ...(suppressionAttributes ? { suppressionAttributes } : {}),
    resources: [],
  };
  ctx.store.putTenant(tenant);
  return { json: tenantJson(tenant) };
}

export function getTenant(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  return { json: { Tenant: tenantJson(findTenant(ctx, requiredString(request.body, 'TenantName'))) } };
}

export function listTenants(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const tenants = [...ctx.store.tenants.values()].sort((a, b) => a.createdAt - b.createdAt);
  const { page, ...rest } = paginate(
    tenants,
    optionalString(request.body, 'NextToken'),
    Number(request.body.PageSize ?? 0) || undefined,
  );
  return {
    json: {
      Tenants: page.map((tenant) => ({
        TenantName: tenant.name,
        TenantId: tenant.id,
        TenantArn: tenant.arn,
        CreatedTimestamp: epochSeconds(tenant.createdAt),
        SendingStatus: tenant.sendingStatus,
      })),
      ...rest,
    },
  };
}

export function deleteTenant(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const tenant = findTenant(ctx, requiredString(request.body, 'TenantName'));
  ctx.store.deleteTenant(tenant.name);
  return { json: {} };
}

/** Which emulator resource an ARN names, or undefined when it names nothing that exists. */
function resourceType(ctx: EmulatorContext, arn: string): TenantResourceRecord['type'] | undefined {
  const identity = arn.match(/:identity\/(.+)$/)?.[1];
  if (identity) {
    const name = normaliseIdentity(identity);
    return ctx.store.identities.has(name) && arn === identityArn(ctx, name) ? 'EMAIL_IDENTITY' : undefined;
  }
  const set = arn.match(/:configuration-set\/(.+)$/)?.[1];
  if (set) {
    return ctx.store.configurationSets.has(set) && arn === configurationSetArn(ctx, set)
      ? 'CONFIGURATION_SET'
      : undefined;
  }
  return undefined;
}

export function createTenantResourceAssociation(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const tenant = findTenant(ctx, requiredString(request.body, 'TenantName'));
  const arn = requiredString(request.body, 'ResourceArn');
  const type = resourceType(ctx, arn);
  if (!type) throw notFound(`Resource ${arn} does not exist.`);
  if (tenant.resources.some((resource) => resource.arn === arn)) {
    throw alreadyExists(`Resource ${arn} is already associated with tenant ${tenant.name}.`);
  }
  tenant.resources.push({ arn, type, associatedAt: Date.now() });
  ctx.store.putTenant(tenant);
  return { json: {} };
}

export function deleteTenantResourceAssociation(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const tenant = findTenant(ctx, requiredString(request.body, 'TenantName'));
  const arn = requiredString(request.body, 'ResourceArn');
  const before = tenant.resources.length;
  tenant.resources = tenant.resources.filter((resource) => resource.arn !== arn);
  if (tenant.resources.length === before)
    throw notFound(`Resource ${arn} is not associated with tenant ${tenant.name}.`);
  ctx.store.putTenant(tenant);
  return { json: {} };
}

export function listTenantResources(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const tenant = findTenant(ctx, requiredString(request.body, 'TenantName'));
  const filter = optionalObject(request.body, 'Filter');
  const wanted = filter ? optionalString(filter, 'RESOURCE_TYPE') : undefined;
  const resources = tenant.resources.filter((resource) => !wanted || resource.type === wanted);
  const { page, ...rest } = paginate(
    resources,
    optionalString(request.body, 'NextToken'),
    Number(request.body.PageSize ?? 0) || undefined,
  );
  return {
    json: {
      TenantResources: page.map((resource) => ({ ResourceType: resource.type, ResourceArn: resource.arn })),
      ...rest,
    },
  };
}

export function listResourceTenants(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const arn = requiredString(request.body, 'ResourceArn');
  const tenants = [...ctx.store.tenants.values()].flatMap((tenant) =>
    tenant.resources
      .filter((resource) => resource.arn === arn)
      .map((resource) => ({
        TenantName: tenant.name,
        TenantId: tenant.id,
        ResourceArn: arn,
        AssociatedTimestamp: epochSeconds(resource.associatedAt),
      })),
  );
  return { json: { ResourceTenants: tenants } };
}
