/** File edges of the balancer: read a trace (plain or .gz) and a hosts file. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { VemError } from '../common/errors.js';
import { parseHostsFile, parseTrace, type HostSpec, type Trace } from './trace.js';

function readText(path: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new VemError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (path.endsWith('.gz')) {
    try {
      buf = gunzipSync(buf);
    } catch {
      throw new VemError(`${path}: not a gzip file`);
    }
  }
  return buf.toString('utf8');
}

export function loadTrace(path: string): Trace {
  return parseTrace(readText(path), basename(path));
}

export function loadHostsFile(path: string): HostSpec[] {
  return parseHostsFile(readText(path), basename(path));
}
