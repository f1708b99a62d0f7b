import { VemError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';

/** `vem vnc`: skeleton until its issue lands. */
export async function run(args: string[]): Promise<number> {
  parseCommandArgs('vnc', args, {});
  throw new VemError('vem vnc: not built yet in this version');
}
