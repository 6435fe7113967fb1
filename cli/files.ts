import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AdminInputError } from '../client/admin-errors';
import type { CliIo } from './runner';

/** A file named on the command line, relative to the working directory. */
export function readText(file: string): string {
  try {
    return readFileSync(resolve(file), 'utf8');
  } catch (error) {
    throw new AdminInputError(`cannot read ${file}: ${(error as Error).message}`, 'INVALID_FILE');
  }
}

export function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AdminInputError(`${file} is not JSON: ${(error as Error).message}`, 'INVALID_FILE');
  }
}

/** Standard input without its final newline (`--password-stdin`). */
export async function readSecretFromStdin(io: CliIo): Promise<string> {
  return (await io.readStdin()).replace(/\r?\n$/, '');
}
