import type { Environment } from '../scope';
import type { Definition } from './definition-schema';
import type { Template } from './template-schema';

/**
 * What the dispatcher needs per event, implemented by `DynamoDefinitionStore` (lambdas/adapters/definition-store.ts).
 * Implementations cache per warm container, so calling these per event is cheap.
 */
export interface NotificationDefinitionSource {
  /** Definitions of the tenant and environment for `eventType` (inactive ones included; `matchDefinitions` filters). */
  definitionsFor(tenantId: string, environment: Environment, eventType: string): Promise<Definition[]>;
  /** The tenant's template, or `undefined` when it does not exist. */
  templateFor(tenantId: string, templateId: string): Promise<Template | undefined>;
}
