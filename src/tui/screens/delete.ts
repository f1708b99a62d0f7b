/**
 * Delete a VM, with or without its volumes: the screen lists the volumes its
 * disks use (from the node's pools), keeps any another VM also uses, and the
 * confirmation names what goes. A running VM is refused: stop it first.
 */
import { cell, escapeTags } from '../format/text.js';
import { fmtBytes } from '../format/units.js';
import { isActive, type VmRecord } from '../store/model.js';
import { isSimulated, titleLine, withFooter } from './common.js';
import { Screen, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';

export interface OwnedVolume {
  pool: string;
  volume: string;
  capacity: number;
  /** Other VMs using it too: such a volume is kept. */
  sharedWith: string[];
}

export class DeleteScreen extends Screen {
  readonly id = 'delete';
  readonly title = 'Delete VM';

  constructor(
    private readonly h: ScreenHost,
    readonly vm: VmRecord,
  ) {
    super();
  }

  override show(): void {
    void this.h.cmds.loadStorage(this.vm.node);
  }

  override hide(): void {}

  /** The VM's volumes as last read; undefined while the node's storage is being read. */
  volumes(): OwnedVolume[] | undefined {
    const st = this.h.manage.storage.get(this.vm.node)?.data;
    if (!st) return undefined;
    const out: OwnedVolume[] = [];
    for (const [pool, byVol] of st.users) {
      for (const [volume, users] of byVol) {
        if (!users.includes(this.vm.name)) continue;
        const v = st.volumes.get(pool)?.find((x) => x.name === volume);
        out.push({ pool, volume, capacity: v?.capacity ?? 0, sharedWith: users.filter((u) => u !== this.vm.name) });
      }
    }
    return out;
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const vm = this.h.store.vms.get(this.vm.key) ?? this.vm;
    const out = [titleLine(t, `Delete VM ${vm.name} on ${vm.node} (${vm.state})`, width, isSimulated(this.h.store, vm.node)), ''];
    if (isActive(vm.state)) out.push(t.bad(escapeTags(cell(`${vm.name} is ${vm.state}: stop it first (Esc, then d shut down or D force off)`, width))));
    const vols = this.volumes();
    if (!vols) out.push('reading the node\'s pools...');
    else {
      out.push(t.head(`Volumes of ${escapeTags(vm.name)} (${vols.length})`));
      for (const v of vols) out.push(escapeTags(cell(`  ${cell(v.volume, 32)} in ${cell(v.pool, 12)} ${cell(fmtBytes(v.capacity), 7, 'right')}${v.sharedWith.length > 0 ? `  also used by ${v.sharedWith.join(', ')}: kept` : ''}`, width)));
      if (vols.length === 0) out.push('  none found in this node\'s pools');
    }
    return withFooter(out, height);
  }

  remove(withVolumes: boolean): void {
    const k = withVolumes ? 'V' : 'd';
    const h = this.h;
    const vm = h.store.vms.get(this.vm.key) ?? this.vm;
    if (isActive(vm.state)) {
      h.say(`${vm.name} is ${vm.state}: stop it before deleting it`, true);
      return;
    }
    const vols = this.volumes();
    if (k === 'V' && !vols) {
      h.say('still reading the node\'s pools; try again in a moment', true);
      return;
    }
    const gone = k === 'V' ? (vols ?? []).filter((v) => v.sharedWith.length === 0) : [];
    const lines =
      k === 'V'
        ? [`Delete VM ${vm.name} on ${vm.node} AND its volumes?`, gone.length > 0 ? `Volumes deleted: ${gone.map((v) => `${v.pool}/${v.volume}`).join(', ')}` : 'It has no volume of its own.', 'Their data is lost.']
        : [`Delete VM ${vm.name} on ${vm.node}?`, `Its volumes are kept: ${(vols ?? []).map((v) => v.volume).join(', ') || 'none'}`];
    h.confirm(lines, () => {
      void h.cmds.deleteVm(vm, gone).then((ok) => {
        if (ok) h.close();
      });
    });
  }

  static readonly TABLE: readonly Binding<DeleteScreen>[] = [
    { keys: ['d'], help: 'delete the VM, keep its volumes (asks first)', hint: 'delete, keep volumes', run: (s) => s.remove(false) },
    { keys: ['V'], help: 'delete the VM and the volumes only it uses (asks first)', hint: 'delete with volumes', run: (s) => s.remove(true) },
  ];

  protected table(): readonly Binding<this>[] {
    return DeleteScreen.TABLE;
  }
}
