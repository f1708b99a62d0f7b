/**
 * Edit a VM's devices: its disks and NICs as its persistent definition has them;
 * attach a disk (an existing volume) or a NIC, detach the selected device (after
 * a confirmation), move a NIC to another network. Live too when the VM runs.
 * b sets the boot order (persistent); anything else: X opens the XML in $EDITOR.
 */
import { cell, escapeTags } from '../format/text.js';
import { isActive, type VmRecord } from '../store/model.js';
import type { DiskUse, NicUse } from '../store/manage-xml.js';
import { detachDiskXml, detachNicXml, diskXml, nextDiskTarget, nicXml, parseBootOrder, withBootOrder } from '../commands/manage-devices.js';
import { isSimulated, titleLine, withFooter } from './common.js';
import { listKeys, moveSel, Screen, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';

type Row = { kind: 'disk'; d: DiskUse } | { kind: 'nic'; n: NicUse };

export class EditScreen extends Screen implements Navigable {
  readonly id = 'edit';
  readonly title = 'Edit VM';
  private sel = 0;

  constructor(
    private readonly h: ScreenHost,
    readonly vm: VmRecord,
    private readonly openXml: () => void,
  ) {
    super();
  }

  override show(): void {
    void this.h.cmds.loadVmDevices(this.vm);
    void this.h.cmds.loadStorage(this.vm.node);
    void this.h.cmds.loadNetworks(this.vm.node);
  }

  override hide(): void {}

  rows(): Row[] {
    const d = this.h.manage.vmDevices.get(this.vm.key)?.data;
    if (!d) return [];
    return [...d.disks.map((x): Row => ({ kind: 'disk', d: x })), ...d.nics.map((n): Row => ({ kind: 'nic', n }))];
  }

  private running(): boolean {
    return isActive((this.h.store.vms.get(this.vm.key) ?? this.vm).state);
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const l = this.h.manage.vmDevices.get(this.vm.key);
    const out = [titleLine(t, `Edit ${this.vm.name} on ${this.vm.node}${this.running() ? '  (running: changes apply live and to its definition)' : ''}`, width, isSimulated(this.h.store, this.vm.node)), ''];
    if (l?.error) out.push(t.bad(escapeTags(cell(`error: ${l.error}`, width))));
    if (!l?.data) out.push('reading its definition...');
    const rows = this.rows();
    rows.forEach((r, i) => {
      const text =
        r.kind === 'disk'
          ? `${cell('disk', 5)} ${cell(r.d.target, 6)} ${cell(r.d.device, 7)} ${r.d.path ?? (r.d.pool ? `${r.d.pool}/${r.d.volume ?? ''}` : '(empty)')}`
          : `${cell('nic', 5)} ${cell(r.n.mac ?? '', 18)} ${r.n.network ? `network ${r.n.network}` : r.n.bridge ? `bridge ${r.n.bridge}` : r.n.type}`;
      const line = escapeTags(cell(`${i === this.sel ? '>' : ' '} ${text}`, width));
      out.push(i === this.sel ? t.sel(line) : line);
    });
    return withFooter(out, height);
  }

  navigate(k: string): void {
    this.sel = moveSel(this.sel, this.rows().length, k) ?? this.sel;
  }

  openXmlKey(): void {
    this.openXml();
  }

  bootOrder(): void {
    const h = this.h;
    h.prompt('boot order (hd, cdrom, network, fd; first is tried first): ', 'hd', (text) => {
      const r = parseBootOrder(text);
      if ('error' in r) return h.say(r.error, true);
      void h.cmds.setBootOrder(this.vm, (xml) => withBootOrder(xml, r.order), r.order.join(','));
    });
  }

  attachDisk(): void {
    const h = this.h;
    const rows = this.rows();
    const reload = (ok: boolean): void => {
      if (ok) void h.cmds.loadVmDevices(this.vm);
    };
    h.prompt('attach volume (POOL/VOLUME): ', '', (text) => {
      const [pool = '', ...rest] = text.trim().split('/');
      const name = rest.join('/');
      const vol = h.manage.storage.get(this.vm.node)?.data?.volumes.get(pool)?.find((v) => v.name === name);
      if (!vol) return h.say(`volume: no volume '${text}' on ${this.vm.node} (POOL/VOLUME)`, true);
      const disks = rows.filter((x): x is Extract<Row, { kind: 'disk' }> => x.kind === 'disk').map((x) => x.d);
      if (disks.some((d) => d.path === vol.path)) return h.say(`volume: ${text} is already a disk of ${this.vm.name}`, true);
      let target: string;
      try {
        target = nextDiskTarget(disks);
      } catch (e) {
        return h.say(e instanceof Error ? e.message : String(e), true);
      }
      void h.cmds.device(this.vm, 'attachDevice', diskXml(vol.path, vol.format, target), `attach ${text} as ${target}`, this.running()).then(reload);
    });
  }

  attachNic(): void {
    const h = this.h;
    const reload = (ok: boolean): void => {
      if (ok) void h.cmds.loadVmDevices(this.vm);
    };
    const networks = (): string[] => h.manage.networks.get(this.vm.node)?.data?.networks.map((n) => n.name) ?? [];
    h.prompt(`attach a NIC on network (${networks().join(', ')}): `, networks()[0] ?? '', (net) => {
      if (!networks().includes(net)) return h.say(`network: no network '${net}' on ${this.vm.node}`, true);
      void h.cmds.device(this.vm, 'attachDevice', nicXml(net), `attach a NIC on ${net}`, this.running()).then(reload);
    });
  }

  detach(): void {
    const h = this.h;
    const rows = this.rows();
    const r = rows[this.sel];
    const reload = (ok: boolean): void => {
      if (ok) void h.cmds.loadVmDevices(this.vm);
    };
    if (!r) return;
    h.confirm([r.kind === 'disk' ? `Detach disk ${r.d.target} (${r.d.path ?? ''}) from ${this.vm.name}?` : `Detach NIC ${r.n.mac ?? ''} from ${this.vm.name}?`, 'The volume itself is kept.'], () => {
      void h.cmds.device(this.vm, 'detachDevice', r.kind === 'disk' ? detachDiskXml(r.d) : detachNicXml(r.n), r.kind === 'disk' ? `detach ${r.d.target}` : `detach NIC ${r.n.mac ?? ''}`, this.running()).then(reload);
    });
  }

  nicNetwork(): void {
    const h = this.h;
    const rows = this.rows();
    const r = rows[this.sel];
    const reload = (ok: boolean): void => {
      if (ok) void h.cmds.loadVmDevices(this.vm);
    };
    const networks = (): string[] => h.manage.networks.get(this.vm.node)?.data?.networks.map((n) => n.name) ?? [];
    if (r?.kind !== 'nic') {
      h.say('select a NIC first', true);
      return;
    }
    h.prompt(`move NIC ${r.n.mac ?? ''} to network (${networks().join(', ')}): `, '', (net) => {
      if (!networks().includes(net)) return h.say(`network: no network '${net}' on ${this.vm.node}`, true);
      void h.cmds.device(this.vm, 'updateDevice', nicXml(net, r.n.mac), `move NIC ${r.n.mac ?? ''} to ${net}`, this.running()).then(reload);
    });
  }

  static readonly TABLE: readonly Binding<EditScreen>[] = [
    ...listKeys<EditScreen>('device'),
    { keys: ['a'], help: 'attach a volume as a disk (POOL/VOLUME)', hint: 'attach disk', run: (s) => s.attachDisk() },
    { keys: ['N'], help: 'attach a NIC on a network', hint: 'attach NIC', run: (s) => s.attachNic() },
    { keys: ['x'], help: 'detach the selected disk or NIC (asks first; the volume is kept)', hint: 'detach', run: (s) => s.detach() },
    { keys: ['n'], help: "move the selected NIC to another network", hint: 'NIC network', run: (s) => s.nicNetwork() },
    { keys: ['b'], help: 'boot order (hd, cdrom, network, fd)', hint: 'boot order', run: (s) => s.bootOrder() },
    { keys: ['X'], help: "edit the VM's XML in $EDITOR", hint: 'XML', run: (s) => s.openXmlKey() },
  ];

  protected table(): readonly Binding<this>[] {
    return EditScreen.TABLE;
  }
}
