/** The four platform environments, and the verification scope that serves each (see DESIGN.md). */
export const ENVIRONMENTS = ['production', 'api-sandbox', 'developer-sandbox', 'central-sandbox'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const SCOPES = ['prod', 'dev'] as const;
export type Scope = (typeof SCOPES)[number];

export const SCOPE_ENVIRONMENTS: Record<Scope, readonly Environment[]> = {
  prod: ['production', 'api-sandbox'],
  dev: ['developer-sandbox', 'central-sandbox'],
};

/** Sending methods a tenant chooses per environment. */
export const SENDING_METHODS = ['default', 'external-smtp', 'advanced'] as const;
export type SendingMethod = (typeof SENDING_METHODS)[number];
