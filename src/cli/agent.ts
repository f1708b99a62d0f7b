/** `vem agent`: the node agent (XML-RPC over libvirt) until SIGINT/SIGTERM. */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError, VemError } from '../common/errors.js';
import { LibvirtError } from '../libvirt/errors.js';
import { boolOpt, parseCommandArgs, stringOpt } from './args.js';

function positiveInt(v: string | undefined, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`vem agent: --${name} must be a whole number from ${min} to ${max}`);
  return n;
}

function readSecret(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new UsageError(`vem agent: cannot read token file ${path}: ${(e as Error).message}`);
  }
  if (text.length < 16) throw new UsageError(`vem agent: the token in ${path} is shorter than 16 characters`, 'e.g. openssl rand -hex 32 > FILE; chmod 600 FILE (hex is safe in a URL)');
  if ((statSync(path).mode & 0o077) !== 0) process.stderr.write(`vem agent: warning: ${path} is readable by others (chmod 600 it)\n`);
  return text;
}

/** libvirt error codes at connection open that no retry heals (virerror.h): no support, no driver, bad argument, denied, auth failed/cancelled. */
const PERMANENT_OPEN_CODES = new Set([3, 5, 8, 29, 45, 79]);

function refusedForGood(e: unknown): boolean {
  return e instanceof LibvirtError && PERMANENT_OPEN_CODES.has(e.code);
}

export function defaultAuditLog(): string {
  if (process.getuid?.() === 0) return '/var/log/vem/audit.jsonl';
  return join(process.env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state'), 'vem', 'audit.jsonl');
}

/** Where the metrics history is kept across restarts (beside the agent's other state). */
export function defaultHistoryFile(): string {
  if (process.getuid?.() === 0) return '/var/lib/vem/history.bin';
  return join(process.env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state'), 'vem', 'history.bin');
}

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs(
    'agent',
    args,
    {
      uri: { type: 'string' },
      listen: { type: 'string' },
      socket: { type: 'string' },
      'token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'read-only': { type: 'boolean' },
      'audit-log': { type: 'string' },
      sim: { type: 'boolean' },
      'sim-vms': { type: 'string' },
      'poll-ms': { type: 'string' },
      history: { type: 'string' },
      'history-file': { type: 'string' },
      'history-save': { type: 'string' },
      'audit-durable': { type: 'boolean' },
    },
    false,
  );
  const cert = stringOpt(p, 'tls-cert');
  const key = stringOpt(p, 'tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('vem agent: --tls-cert and --tls-key go together');
  const tokenFile = stringOpt(p, 'token-file');
  const sim = boolOpt(p, 'sim');
  const uri = stringOpt(p, 'uri') ?? 'qemu:///system';
  if (sim && stringOpt(p, 'uri')) throw new UsageError('vem agent: --sim and --uri exclude each other');
  const pollMs = positiveInt(stringOpt(p, 'poll-ms'), 'poll-ms', 1000, 100, 60_000);
  const historySeconds = positiveInt(stringOpt(p, 'history'), 'history', 3600, 10, 7 * 86400);

  const { startAgent } = await import('../agent/index.js');
  let closeSim: (() => void) | undefined;
  let firstError: unknown;
  let hypervisor: Parameters<typeof startAgent>[0]['hypervisor'];
  if (sim) {
    const { createSimCluster } = await import('../libvirt/sim/index.js');
    const cluster = createSimCluster({ nodes: 1, vmsPerNode: positiveInt(stringOpt(p, 'sim-vms'), 'sim-vms', 12, 0, 1000) });
    closeSim = () => cluster.close();
    hypervisor = cluster.hypervisors[0] as NonNullable<(typeof cluster.hypervisors)[0]>;
  } else {
    // A URI that can never work is a configuration error: say so and exit, rather than retry for ever looking healthy.
    const { endpointOf, parseLibvirtUri } = await import('../libvirt/uri.js');
    try {
      endpointOf(parseLibvirtUri(uri));
    } catch (e) {
      throw new UsageError(`vem agent: --uri ${uri}: ${(e as Error).message}`, 'e.g. --uri qemu:///system, or qemu+unix:///system?socket=PATH');
    }
    const { connectLibvirt } = await import('../libvirt/client/index.js');
    hypervisor = async () => {
      try {
        return await connectLibvirt(uri);
      } catch (e) {
        firstError ??= e;
        throw e;
      }
    };
  }
  const auditLog = stringOpt(p, 'audit-log') ?? defaultAuditLog();
  // A simulated node's history is not worth keeping unless asked for.
  const historyFile = stringOpt(p, 'history-file') ?? (sim ? 'none' : defaultHistoryFile());
  const agent = await startAgent({
    hypervisor,
    listen: stringOpt(p, 'listen'),
    socket: stringOpt(p, 'socket'),
    token: tokenFile ? readSecret(tokenFile) : undefined,
    tls: cert && key ? { cert, key } : undefined,
    readOnly: boolOpt(p, 'read-only'),
    auditLog,
    auditDurable: boolOpt(p, 'audit-durable'),
    pollMs,
    historySeconds,
    // 'none' keeps the history in memory only.
    historyFile: historyFile === 'none' ? undefined : historyFile,
    historySaveMs: positiveInt(stringOpt(p, 'history-save'), 'history-save', 60, 1, 86400) * 1000,
  });
  const st = agent.core.link.status();
  if (!st.up && refusedForGood(firstError)) {
    // libvirtd answered and refused this URI (no such driver, denied): retrying cannot heal it.
    await agent.close();
    throw new VemError(`vem agent: libvirt refused --uri ${uri}: ${(firstError as Error).message}`, 'check the URI and that this user may open it (virsh -c URI list)');
  }
  process.stderr.write(
    `vem agent: serving ${agent.url}${agent.socketPath && agent.url !== `unix:${agent.socketPath}` ? ` and unix:${agent.socketPath}` : ''} for ${sim ? 'a SIMULATED node' : uri}` +
      `${boolOpt(p, 'read-only') ? ' (read-only)' : ''}; libvirt ${st.up ? 'up' : `down (${st.reason ?? '?'}), retrying`}; audit log ${auditLog}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await agent.close();
  closeSim?.();
  return 0;
}
