import { VemError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';

/** `vem call`: skeleton until its issue lands. */
export async function run(args: string[]): Promise<number> {
  parseCommandArgs('call', args, {});
  throw new VemError('vem call: not built yet in this version');
}
