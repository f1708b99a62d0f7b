/**
 * Storage view of one node: its pools (capacity, allocation, available, state)
 * and the selected pool's volumes with the VMs that use them; create, delete
 * (refused while in use unless forced after a confirmation), refresh; a new
 * directory pool (define, build, start), and build or start a defined one.
 */
import type { Column } from '../format/text.js';
import { cell, escapeTags } from '../format/text.js';
import { fmtBytes, fmtPct, pct } from '../format/units.js';
import type { PoolRow, VolumeRow } from '../store/manage-decode.js';
import { validateVolume } from '../commands/manage-validate.js';
import { ago, isSimulated, Refresher, stepNode, tableLines, titleLine, withFooter } from './common.js';
import { listKeys, moveSel, Screen, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';
import { dirPoolSpec } from '../commands/manage-netpool.js';

const poolCols: Column<PoolRow>[] = [
  { id: 'name', title: 'POOL', min: 10, max: 20, get: (p) => p.name },
  { id: 'state', title: 'STATE', min: 8, get: (p) => p.state },
  { id: 'type', title: 'TYPE', min: 7, drop: 2, get: (p) => p.type },
  { id: 'cap', title: 'CAPACITY', min: 8, align: 'right', get: (p) => fmtBytes(p.capacity) },
  { id: 'alloc', title: 'ALLOC', min: 7, align: 'right', get: (p) => fmtBytes(p.allocation) },
  { id: 'avail', title: 'AVAILABLE', min: 9, align: 'right', get: (p) => fmtBytes(p.available) },
  { id: 'use', title: 'USE%', min: 5, align: 'right', get: (p) => fmtPct(pct(p.allocation, p.capacity)) },
  { id: 'auto', title: 'AUTOSTART', min: 9, drop: 3, get: (p) => (p.autostart ? 'yes' : 'no') },
  { id: 'path', title: 'PATH', min: 0, max: 40, drop: 1, get: (p) => p.path },
];

function volCols(users: (v: VolumeRow) => string[]): Column<VolumeRow>[] {
  return [
    { id: 'name', title: 'VOLUME', min: 16, max: 40, get: (v) => v.name },
    { id: 'cap', title: 'CAPACITY', min: 8, align: 'right', get: (v) => fmtBytes(v.capacity) },
    { id: 'alloc', title: 'ALLOC', min: 7, align: 'right', get: (v) => fmtBytes(v.allocation) },
    { id: 'fmt', title: 'FORMAT', min: 6, get: (v) => v.format },
    { id: 'users', title: 'USED BY', min: 8, max: 60, get: (v) => users(v).join(', ') || '-' },
  ];
}

export class StorageScreen extends Screen implements Navigable {
  readonly id = 'storage';
  readonly title = 'Storage';
  private poolSel = 0;
  private volSel = 0;
  private poolTop = 0;
  private volTop = 0;
  private focus: 'pools' | 'volumes' = 'pools';

  constructor(
    private readonly h: ScreenHost,
    public node: string,
  ) {
    super();
  }

  /** Re-read while shown, every 5 s; who uses what comes with the answer (the agent's usedBy). */
  private readonly refresher = new Refresher(5000);

  override show(): void {
    this.refresher.start(() => void this.h.cmds.loadStorage(this.node));
  }

  override hide(): void {
    this.refresher.stop();
  }

  private pools(): PoolRow[] {
    return this.h.manage.storage.get(this.node)?.data?.pools ?? [];
  }

  private pool(): PoolRow | undefined {
    const p = this.pools();
    return p[Math.min(this.poolSel, p.length - 1)];
  }

  private volumes(): VolumeRow[] {
    const p = this.pool();
    return p ? this.h.manage.storage.get(this.node)?.data?.volumes.get(p.name) ?? [] : [];
  }

  private volume(): VolumeRow | undefined {
    const v = this.volumes();
    return v[Math.min(this.volSel, v.length - 1)];
  }

  private users(vol: string): string[] {
    const p = this.pool();
    return p ? this.h.cmds.volumeUsersOf(this.node, p.name, vol) : [];
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const l = this.h.manage.storage.get(this.node);
    const out = [titleLine(t, `Storage on ${this.node}  (${l?.loading ? 'loading...' : `read ${ago(l?.at)}`})`, width, isSimulated(this.h.store, this.node))];
    if (l?.error) out.push(t.bad(escapeTags(cell(`error: ${l.error}`, width))));
    const pools = this.pools();
    if (!l?.data) {
      out.push(l?.loading || !l ? 'loading...' : 'no data');
      return out;
    }
    const poolH = Math.min(pools.length + 1, Math.max(3, Math.floor((height - 6) / 3)));
    const pt = tableLines(poolCols, pools, this.poolSel, this.poolTop, this.focus === 'pools', width, poolH, t);
    this.poolTop = pt.top;
    out.push(...pt.lines);
    if (pools.length === 0) out.push(' no storage pools on this node');
    const p = this.pool();
    const vols = this.volumes();
    out.push('');
    out.push(t.head(escapeTags(cell(p ? `Volumes in ${p.name} (${vols.length})` : 'Volumes', width))));
    const err = p ? l.data.volumeErrors.get(p.name) : undefined;
    if (err) out.push(t.bad(escapeTags(cell(err, width))));
    const volH = Math.max(2, height - out.length - 1);
    const vt = tableLines(volCols((v) => this.users(v.name)), vols, this.volSel, this.volTop, this.focus === 'volumes', width, volH, t);
    this.volTop = vt.top;
    out.push(...vt.lines);
    if (vols.length === 0 && !err) out.push(' no volumes');
    return withFooter(out, height);
  }

  navigate(k: string): void {
    const count = this.focus === 'pools' ? this.pools().length : this.volumes().length;
    const cur = this.focus === 'pools' ? this.poolSel : this.volSel;
    const m = moveSel(cur, count, k) ?? cur;
    if (this.focus === 'pools') {
      if (m !== this.poolSel) this.volSel = 0;
      this.poolSel = m;
    } else this.volSel = m;
  }

  stepNode(delta: number): void {
    this.node = stepNode(this.h.store, this.node, delta);
    this.poolSel = this.volSel = 0;
    this.show();
  }

  refresh(): void {
    const p = this.pool();
    if (p) void this.h.cmds.refreshPool(this.node, p.name);
    else void this.h.cmds.loadStorage(this.node);
  }

  createVolume(): void {
    const h = this.h;
    const p = this.pool();
    if (!p) return h.say('no pool selected', true);
    h.prompt(`new volume in ${p.name} (NAME SIZE [qcow2|raw]): `, '', (text) => {
      const [name = '', size = '', format = 'qcow2'] = text.split(/\s+/);
      const existing = this.volumes().map((x) => x.name);
      const r = validateVolume({ name, size, format }, p, existing);
      const first = r.errors[0];
      if (first || r.bytes === undefined) return h.say(first ? r.errors.map((e) => e.message).join('; ') : 'size missing', true);
      void h.cmds.createVolume(this.node, p.name, name, r.bytes, format);
    });
  }

  deleteVolume(force: boolean): void {
    const h = this.h;
    const p = this.pool();
    const v = this.volume();
    if (!p || !v) return h.say('no volume selected (tab moves to the volumes)', true);
    const users = this.users(v.name);
    if (users.length > 0 && !force) return h.say(`volume ${v.name} is used by ${users.join(', ')}: not deleted (F forces, after a confirmation)`, true);
    const lines =
      users.length > 0
        ? [`FORCE delete volume ${v.name} from pool ${p.name} on ${this.node}?`, `It is used by ${users.join(', ')}: their disk will be gone.`, 'Its data is lost.']
        : [`Delete volume ${v.name} (${fmtBytes(v.capacity)}) from pool ${p.name} on ${this.node}?`, 'Its data is lost.'];
    h.confirm(lines, () => void h.cmds.deleteVolume(this.node, p.name, v.name, users.length > 0));
  }

  createPool(): void {
    const h = this.h;
    h.prompt('new directory pool (NAME PATH): ', '', (text) => {
      const spec = dirPoolSpec(text);
      if ('error' in spec) return h.say(spec.error, true);
      if (this.pools().some((p) => p.name === spec.name)) return h.say(`pool ${spec.name} exists already on ${this.node}`, true);
      void h.cmds.poolCreate(this.node, spec.name, spec.xml);
    });
  }

  startPool(): void {
    const p = this.pool();
    if (!p) return this.h.say('no pool selected', true);
    if (p.state === 'running') return this.h.say(`pool ${p.name} is already running`);
    void this.h.cmds.poolStart(this.node, p.name);
  }

  buildPool(): void {
    const h = this.h;
    const p = this.pool();
    if (!p) return h.say('no pool selected', true);
    if (p.state === 'running') return h.say(`pool ${p.name} runs: a running pool is not built again`, true);
    h.confirm([`Build pool ${p.name} on ${this.node}?`, `This makes its target${p.path ? ` ${p.path}` : ''} on the node.`], () => void h.cmds.poolBuild(this.node, p.name));
  }

  static readonly TABLE: readonly Binding<StorageScreen>[] = [
    ...listKeys<StorageScreen>(),
    { keys: ['tab'], help: 'switch between pools and volumes', hint: 'pools/volumes', run: (s) => (s.focus = s.focus === 'pools' ? 'volumes' : 'pools') },
    { keys: ['enter'], help: "the selected pool's volumes", run: (s) => (s.focus = 'volumes') },
    { keys: ['c'], help: 'create a volume in the selected pool (NAME SIZE [qcow2|raw])', hint: 'create', run: (s) => s.createVolume() },
    { keys: ['x', 'delete'], help: 'delete the selected volume (refused while a VM uses it; asks first)', hint: 'delete', run: (s) => s.deleteVolume(false) },
    { keys: ['F'], help: 'force-delete a volume a VM uses (asks first)', hint: 'force delete', run: (s) => s.deleteVolume(true) },
    { keys: ['R'], help: 'refresh the pool (re-scan its volumes)', hint: 'refresh', run: (s) => s.refresh() },
    { keys: ['P'], help: 'new directory pool: define, build (make its folder) and start it (NAME PATH)', hint: 'new pool', run: (s) => s.createPool() },
    { keys: ['u'], help: 'start the selected (defined, inactive) pool', hint: 'start pool', run: (s) => s.startPool() },
    { keys: ['b'], help: "build the selected inactive pool (make its target; asks first)", run: (s) => s.buildPool() },
    { keys: ['['], help: 'previous node', run: (s) => s.stepNode(-1) },
    { keys: [']'], help: 'next node', hint: 'node', run: (s) => s.stepNode(1) },
  ];

  protected table(): readonly Binding<this>[] {
    return StorageScreen.TABLE;
  }
}
