import { VemError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';

/** `vem demo`: skeleton until its issue lands. */
export async function run(args: string[]): Promise<number> {
  parseCommandArgs('demo', args, {});
  throw new VemError('vem demo: not built yet in this version');
}
