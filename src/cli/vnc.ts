/** `vem vnc VM`: a local loopback port forwarded through the VM's node's SSH link to its VNC/SPICE display. */
import { UsageError } from '../common/errors.js';
import { findVmDisplay, loadClusterFile, openLink, terminalPassphrase, type LocalForward, type NodeLink } from '../link/index.js';
import { forwardVmDisplay } from '../link/vnc.js';
import { parseCommandArgs, stringOpt } from './args.js';

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs('vnc', args, { cluster: { type: 'string' } });
  const [vm, ...extra] = p.positionals;
  if (vm === undefined) throw new UsageError('vem vnc: which VM?', "see 'vem vnc --help'");
  if (extra.length > 0) throw new UsageError(`vem vnc: unexpected '${extra[0]}'`, "see 'vem vnc --help'");
  const cluster = loadClusterFile(stringOpt(p, 'cluster'));
  const links: NodeLink[] = cluster.nodes.map((n) => openLink(n, { askPassphrase: terminalPassphrase() }));
  let forward: LocalForward | undefined;
  try {
    const { link, display } = await findVmDisplay(links, vm);
    // Only the VM's node stays connected.
    await Promise.all(links.filter((l) => l !== link).map((l) => l.close()));
    const f = await forwardVmDisplay(link, vm, display);
    forward = f.forward;
    process.stdout.write(
      `${display.protocol.toUpperCase()} display of ${vm} (node ${link.name}, ${f.target} there) forwarded to ${forward.host}:${forward.port}\n` +
        `  viewer: ${f.viewers.join('   or   ')}\n` +
        'Ctrl-C to stop.\n',
    );
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  } finally {
    forward?.close();
    await Promise.all(links.map((l) => l.close()));
  }
}
