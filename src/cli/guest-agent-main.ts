/** Entry point of the one-file guest agent bundle (dist/guest-agent.mjs): `node guest-agent.mjs [--port DEV] [--listen ...]`. */
import { run } from './guest-agent.js';
import { UsageError, VemError } from '../common/errors.js';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`vem guest-agent: ${e instanceof VemError ? e.message + (e.hint ? ` (${e.hint})` : '') : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
