import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  SecretAccessDeniedError,
  SecretNotFoundError,
  type SecretStore,
  SecretStoreUnavailableError,
} from '../../domain/smtp/secret-store';

export interface SecretsManagerSecretStoreOptions {
  /** Created once per module by the composition root; tests point it at a local endpoint. */
  readonly client: SecretsManagerClient;
  /**
   * How long a value is reused inside a warm container. Short, so a rotated password is picked up within minutes
   * without a Secrets Manager call per email. @default 300_000 (5 minutes)
   */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly value: Promise<string>;
  readonly expiresAt: number;
}

/**
 * `SecretStore` over AWS Secrets Manager (`GetSecretValue`, `AWSCURRENT`). Values are cached per container for
 * `ttlMs`, and concurrent reads of the same secret share one call. Failures are not cached.
 */
export class SecretsManagerSecretStore implements SecretStore {
  private readonly client: SecretsManagerClient;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(options: SecretsManagerSecretStoreOptions) {
    this.client = options.client;
    this.ttlMs = options.ttlMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  get(ref: string): Promise<string> {
    const cached = this.cache.get(ref);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    const value = this.fetch(ref);
    this.cache.set(ref, { value, expiresAt: this.now() + this.ttlMs });
    value.catch(() => {
      if (this.cache.get(ref)?.value === value) this.cache.delete(ref);
    });
    return value;
  }

  invalidate(ref: string): void {
    this.cache.delete(ref);
  }

  private async fetch(ref: string): Promise<string> {
    try {
      const output = await this.client.send(new GetSecretValueCommand({ SecretId: ref }));
      if (output.SecretString === undefined || output.SecretString === '') throw new SecretNotFoundError(ref);
      return output.SecretString;
    } catch (error) {
      if (error instanceof SecretNotFoundError) throw error;
      const name = error instanceof Error ? error.name : '';
      if (name === 'ResourceNotFoundException') throw new SecretNotFoundError(ref, { cause: error });
      if (name === 'AccessDeniedException' || name === 'DecryptionFailure') {
        throw new SecretAccessDeniedError(ref, { cause: error });
      }
      throw new SecretStoreUnavailableError(ref, { cause: error });
    }
  }
}
