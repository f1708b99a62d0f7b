/** `vem vnc VM`: a local loopback port forwarded through the VM's node's SSH link to its VNC/SPICE display. */
import { UsageError, VemError } from '../common/errors.js';
import { findVmDisplay, loadClusterFile, openLink, SshLink, terminalPassphrase, type LocalForward, type NodeLink } from '../link/index.js';
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
    if (!(link instanceof SshLink)) {
      throw new VemError(`node ${link.name} is reached without SSH, so vem cannot forward its display`, display.kind === 'tcp' ? `connect a viewer to ${display.host}:${display.port} on that node` : undefined);
    }
    forward = display.kind === 'tcp' ? await link.forwardLocal(display.host, display.port) : await link.forwardLocalSocket(display.path);
    const target = display.kind === 'tcp' ? `${display.host}:${display.port}` : display.path;
    const scheme = display.protocol === 'vnc' ? 'vnc' : 'spice';
    process.stdout.write(
      `${display.protocol.toUpperCase()} display of ${vm} (node ${link.name}, ${target} there) forwarded to ${forward.host}:${forward.port}\n` +
        `  viewer: remote-viewer ${scheme}://${forward.host}:${forward.port}` +
        (display.protocol === 'vnc' ? `   or   vncviewer ${forward.host}::${forward.port}\n` : '\n') +
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
