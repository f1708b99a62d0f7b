import { VemError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';

/** `vem agent`: skeleton until its issue lands. */
export async function run(args: string[]): Promise<number> {
  parseCommandArgs('agent', args, {});
  throw new VemError('vem agent: not built yet in this version');
}
