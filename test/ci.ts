// The one place that decides "are we in CI?" and what a missing prerequisite does
// there. Outside CI a test without its prerequisite skips with the reason; in CI
// (CI=true or CI=1, as CI systems set it) it fails with one line naming what is
// missing, because the end-to-end suites must not skip in CI.
import type { TestContext } from 'node:test';
import { MissingPrerequisiteError } from '../src/common/errors.js';

export const INSTALL_HINT = 'install with .ci/install-deps.sh';

export function inCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env['CI'] ?? '').trim().toLowerCase();
  return v === 'true' || v === '1' || v === 'yes';
}

/**
 * For a test's `skip` option: undefined when the prerequisite is there; its skip
 * reason when not (outside CI); under CI it throws MissingPrerequisiteError.
 */
export function skipUnless(present: boolean, what: string, hint = INSTALL_HINT): string | undefined {
  if (present) return undefined;
  if (inCI()) throw new MissingPrerequisiteError(`${what} (${hint})`, hint);
  return `missing prerequisite: ${what} (${hint})`;
}

/** Inside a test: true to go on; otherwise skips the test (outside CI) or throws (CI). */
export function need(t: TestContext, present: boolean, what: string, hint = INSTALL_HINT): boolean {
  const reason = skipUnless(present, what, hint);
  if (reason === undefined) return true;
  t.skip(reason);
  return false;
}
