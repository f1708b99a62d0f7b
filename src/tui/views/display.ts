/**
 * A VM's graphical display from the dashboard (V, :vnc [VM]): the view opens the
 * forward `vem vnc` makes and shows the local address and viewer commands to
 * copy (or says which $VEM_VNC_VIEWER it started). Closing the view ends the forward.
 */
import type { Binding } from '../keymap.js';
import { cell, escapeTags } from '../format/text.js';
import type { DisplayCenter, OpenDisplay } from '../store/displays.js';
import type { VmRecord } from '../store/model.js';
import { BoundPage, type AppHost } from './page.js';

export const DISPLAY: readonly Binding<DisplayPage>[] = [
  { keys: ['escape', 'V'], help: 'close the display view and end its forward', hint: 'close forward', run: (p) => p.close() },
];

export class DisplayPage extends BoundPage {
  readonly id = 'display';
  readonly title = 'Display';
  d: OpenDisplay | undefined;
  error: string | undefined;
  private closed = false;

  constructor(
    host: AppHost,
    readonly center: DisplayCenter,
    readonly vm: VmRecord,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return DISPLAY;
  }

  show(): void {
    if (this.d || this.error) return;
    this.center.forward(this.vm.node, this.vm.name).then(
      (d) => {
        // Closed while the forward was being opened: end it at once.
        if (this.closed) return this.center.close(d);
        this.d = d;
        this.host.say(`${d.display.protocol.toUpperCase()} display of ${d.vm} at ${d.forward.host}:${d.forward.port}`);
        this.host.markDirty();
      },
      (e: unknown) => {
        this.error = e instanceof Error ? e.message : String(e);
        this.host.say(`display of ${this.vm.name}: ${this.error}`, true);
        this.host.markDirty();
      },
    );
  }

  hide(): void {
    this.closed = true;
    if (this.d) this.center.close(this.d);
  }

  lines(width: number): string[] {
    const t = this.host.theme;
    const out = [t.head(escapeTags(cell(`Display of ${this.vm.name} on ${this.vm.node}`, width)))];
    const d = this.d;
    if (this.error) {
      out.push(t.bad(escapeTags(cell(this.error, width))), '', t.dim('Esc closes this view'));
      return out;
    }
    if (!d) return [...out, t.dim('opening the forward through the node link...')];
    out.push(
      escapeTags(cell(`${d.display.protocol.toUpperCase()} forwarded to ${d.forward.host}:${d.forward.port}  (${d.target} on node ${d.node}, through its SSH link)`, width)),
      '',
      'viewer (copy one):',
      ...d.viewers.map((v) => escapeTags(cell(`  ${v}`, width))),
      '',
    );
    if (d.viewer) out.push(t.ok(escapeTags(cell(`started $VEM_VNC_VIEWER: ${d.viewer.command} (pid ${d.viewer.pid})`, width))));
    else if (d.viewerNote) out.push(t.warn(escapeTags(cell(d.viewerNote, width))));
    else out.push(t.dim(cell('set VEM_VNC_VIEWER (e.g. remote-viewer) and the dashboard starts it', width)));
    out.push('', t.dim(cell('The forward stays open while this view is on the stack; Esc or V closes it.', width)));
    return out;
  }
}
