/** `vem tui [--cluster FILE]`: the dashboard over every node in the cluster file, through its link (SSH or direct). */
import { boolOpt, parseCommandArgs, stringOpt } from './args.js';
import { UsageError } from '../common/errors.js';
import { loadClusterFile, openLink } from '../link/index.js';
import { parseSshSpec } from '../link/cluster-file.js';
import { runDashboard } from '../tui/views/app.js';
import { PassphraseBroker } from '../tui/views/passphrase.js';

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs('tui', args, { cluster: { type: 'string' }, wall: { type: 'boolean' }, refresh: { type: 'string' } }, false);
  const refreshMs = Number(stringOpt(p, 'refresh') ?? '1000');
  if (!Number.isFinite(refreshMs) || refreshMs < 100) throw new UsageError(`vem tui: --refresh must be a number of milliseconds >= 100`);
  const cluster = loadClusterFile(stringOpt(p, 'cluster'));
  if (cluster.nodes.length === 0) throw new UsageError(`vem tui: ${cluster.path} lists no nodes`);
  // Passphrases of encrypted keys are asked in the dashboard, which owns the terminal.
  const passphrases = new PassphraseBroker();
  const links = cluster.nodes.map((n) => openLink(n, { askPassphrase: passphrases.ask }));
  try {
    const byName = new Map(cluster.nodes.map((n) => [n.name, n]));
    const nodeConfig = (name: string): { migrateUri?: string; sshHost?: string } | undefined => {
      const n = byName.get(name);
      const sshHost = n?.ssh ? parseSshSpec(n.ssh)?.host : undefined;
      return n ? { ...(n.migrateUri ? { migrateUri: n.migrateUri } : {}), ...(sshHost ? { sshHost } : {}) } : undefined;
    };
    return await runDashboard({ links, refreshMs, wall: boolOpt(p, 'wall'), passphrases, nodeConfig, nodeLabels: (name) => byName.get(name)?.labels });
  } finally {
    await Promise.allSettled(links.map((l) => l.close()));
  }
}
