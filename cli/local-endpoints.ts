/** The endpoints of one scope the local twin runs. */
export interface LocalScopeEndpoints {
  readonly scope: 'prod' | 'dev';
  readonly region: string;
  readonly dynamodb: string;
  readonly sqs: string;
  readonly ses: string;
  readonly dns?: string;
  readonly secretsManager?: string;
  readonly queues?: Record<string, string>;
  readonly tables?: Record<string, string>;
  readonly viewer?: string;
}

/**
 * What `npm start` writes to `.local/endpoints.json`: the default scope's endpoints at the top level, every
 * scope it runs under `scopes`, and the CA certificate of its stand-in relay.
 */
export interface LocalEndpoints extends LocalScopeEndpoints {
  readonly scopes?: Partial<Record<'prod' | 'dev', LocalScopeEndpoints>>;
  /** Absolute path of the relay's CA certificate (PEM): `smtp test --local` trusts it for STARTTLS. */
  readonly relayCaCertificate?: string;
}
