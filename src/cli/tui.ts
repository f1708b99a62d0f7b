import { VemError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';

/** `vem tui`: skeleton until its issue lands. */
export async function run(args: string[]): Promise<number> {
  parseCommandArgs('tui', args, {});
  throw new VemError('vem tui: not built yet in this version');
}
