import { VemError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';

/** `vem guest-agent`: skeleton until its issue lands. */
export async function run(args: string[]): Promise<number> {
  parseCommandArgs('guest-agent', args, {});
  throw new VemError('vem guest-agent: not built yet in this version');
}
