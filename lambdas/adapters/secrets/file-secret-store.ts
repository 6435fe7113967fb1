import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SecretNotFoundError, type SecretStore } from '../../domain/smtp/secret-store';

export interface FileSecretStoreOptions {
  /** Folder holding the secrets file, e.g. the local twin's `.local/` state folder. */
  readonly folder: string;
  /** @default 'secrets.json' */
  readonly fileName?: string;
}

/**
 * `SecretStore` for the local twin: one JSON object `{ "<ref>": "<value>" }` in a file, read on every `get` so
 * an edit (or `put` from the CLI) applies at once. Never used in a deployed stack.
 */
export class FileSecretStore implements SecretStore {
  readonly path: string;

  constructor(options: FileSecretStoreOptions) {
    this.path = join(options.folder, options.fileName ?? 'secrets.json');
  }

  async get(ref: string): Promise<string> {
    const value = (await this.readAll())[ref];
    if (typeof value !== 'string' || value === '') throw new SecretNotFoundError(ref);
    return value;
  }

  /** Stores or replaces a secret, writing the file atomically (temporary file, then rename). */
  async put(ref: string, value: string): Promise<void> {
    const all = await this.readAll();
    all[ref] = value;
    await mkdir(join(this.path, '..'), { recursive: true });
    const temporary = `${this.path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temporary, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }

  private async readAll(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${this.path} must hold a JSON object of secret name to value`);
    }
    return parsed as Record<string, unknown>;
  }
}
