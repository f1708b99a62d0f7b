/** Runs python3's stock xmlrpc.client against a server (test helper). */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/common -> test/common/py (the script is not compiled)
export const PEER_SCRIPT = join(here, '..', '..', '..', 'test', 'common', 'py', 'xmlrpc_peer.py');

export type PeerResult = { ok?: unknown; fault?: number; message?: string; http?: number };

export function pythonCalls(target: string, token: string, script: Array<[string, unknown[]]>): Promise<PeerResult[]> {
  return new Promise((resolve, reject) => {
    execFile('python3', [PEER_SCRIPT, target, token, JSON.stringify(script)], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python peer failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as PeerResult[]);
    });
  });
}
