import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let found: string | undefined;

/**
 * The folder holding tenant-mail's own `package.json`: the repository, or `node_modules/tenant-mail` when installed.
 * Found by walking up from this module, so it is the same from the sources (`lib/config/`) and from the compiled
 * package (`dist/lib/config/`); files that ship beside the build (`lambdas/`, `cdk.json`) are looked up from it.
 */
export function packageRoot(): string {
  if (found) return found;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tenant-mail'
    ) {
      found = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no tenant-mail package.json above ${__dirname}`);
  }
}
