import { VemError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';

/** `vem balance`: skeleton until its issue lands. */
export async function run(args: string[]): Promise<number> {
  parseCommandArgs('balance', args, {});
  throw new VemError('vem balance: not built yet in this version');
}
