// Starts test/lab/fault-agent.js inside a lab node's namespace and hands back its URL and PID.
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabNode } from './lab.js';
import { startNodeScript } from './node-script.js';

export interface FaultAgent {
  url: string;
  pid: number;
  proc: ChildProcess;
  stderr(): string;
  /** SIGKILL (a crash) or SIGTERM (a clean stop); resolves when it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startFaultAgent(node: LabNode, uri: string, options: object = {}): Promise<FaultAgent> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'fault-agent.js');
  const run = await startNodeScript(node, script, [uri, `${node.ip}:0`, JSON.stringify(options)], 'fault agent');
  const [url = '', pid = '0'] = run.line.split(' ');
  return { url, pid: Number(pid), proc: run.proc, stderr: run.stderr, stop: run.stop };
}
