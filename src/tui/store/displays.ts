/**
 * The dashboard's display forwards (V, :vnc): a loopback port forwarded through
 * the VM's node's SSH link to its VNC or SPICE display, as `vem vnc` makes, and
 * the viewer `$VEM_VNC_VIEWER` names when it is set. Each lives until its view
 * closes it (or the dashboard quits); the viewer vem started ends with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { forwardVmDisplay, type DisplayForward } from '../../link/vnc.js';
import type { Link } from './link.js';

export interface OpenDisplay extends DisplayForward {
  /** The viewer vem started from $VEM_VNC_VIEWER, while it runs. */
  viewer?: { pid: number; command: string };
  /** What became of the viewer (exited, failed to start). */
  viewerNote?: string;
}

export class DisplayCenter {
  private readonly open = new Set<OpenDisplay>();
  private readonly children = new Map<OpenDisplay, ChildProcess>();

  constructor(
    private readonly link: (node: string) => Link | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly changed: () => void,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** Forward the VM's display; starts $VEM_VNC_VIEWER on its URL when set. */
  async forward(node: string, vm: string): Promise<OpenDisplay> {
    const l = this.link(node);
    if (!l) throw new Error(`no link to node ${node}`);
    const d: OpenDisplay = await forwardVmDisplay(l, vm);
    this.open.add(d);
    const viewer = this.env['VEM_VNC_VIEWER'];
    if (viewer) this.startViewer(d, viewer);
    this.changed();
    return d;
  }

  /** `$VEM_VNC_VIEWER URL` through the shell (the variable may hold arguments), its output discarded. */
  private startViewer(d: OpenDisplay, command: string): void {
    const c = spawn('/bin/sh', ['-c', `exec ${command} "$1"`, 'sh', d.url], { stdio: 'ignore', env: { ...process.env, ...this.env } });
    c.on('error', (e) => {
      d.viewerNote = `viewer ${command} failed: ${e.message}`;
      delete d.viewer;
      this.changed();
    });
    c.on('exit', (code, sig) => {
      this.children.delete(d);
      if (d.viewer) d.viewerNote = `viewer ${command} ended (${sig ?? `exit ${code ?? '?'}`})`;
      delete d.viewer;
      this.changed();
    });
    if (c.pid !== undefined) d.viewer = { pid: c.pid, command };
    this.children.set(d, c);
  }

  /** End the forward and the viewer vem started for it. */
  close(d: OpenDisplay): void {
    if (!this.open.delete(d)) return;
    d.forward.close();
    const c = this.children.get(d);
    this.children.delete(d);
    if (c && c.exitCode === null && c.signalCode === null) {
      delete d.viewer;
      c.kill('SIGTERM');
    }
    this.changed();
  }

  closeAll(): void {
    for (const d of [...this.open]) this.close(d);
  }
}
