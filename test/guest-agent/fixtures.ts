import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/guest in the source tree (tests run from dist/test/..., fixtures are not compiled). */
export function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = join(dir, 'test', 'fixtures', 'guest');
    if (existsSync(join(cand, 'passwd'))) return cand;
    dir = resolve(dir, '..');
  }
  throw new Error('test/fixtures/guest not found above ' + fileURLToPath(import.meta.url));
}
