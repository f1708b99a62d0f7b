/**
 * Network view of one node: virtual networks with state, autostart, bridge,
 * address and DHCP range, and the VMs on each or its DHCP leases; create
 * (define + start), start, stop and delete (after a confirmation naming the VMs
 * that lose their network), autostart.
 */
import type { Column } from '../format/text.js';
import { cell, escapeTags } from '../format/text.js';
import type { NetworkRow } from '../store/manage-decode.js';
import { ago, isSimulated, Refresher, stepNode, tableLines, titleLine, withFooter } from './common.js';
import { listKeys, moveSel, Screen, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';
import { networkSpec } from '../commands/manage-netpool.js';
import { fmtDuration } from '../format/units.js';

/** 255.255.255.0 -> 24 (undefined for a non-contiguous mask). */
export function prefixLength(mask: string): number | undefined {
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const bits = parts.map((p) => p.toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') < 0 ? 32 : bits.indexOf('0') : undefined;
}

export function addressText(n: NetworkRow): string {
  if (!n.ipAddress) return '-';
  const p = prefixLength(n.netmask);
  return p === undefined ? `${n.ipAddress}${n.netmask ? ` mask ${n.netmask}` : ''}` : `${n.ipAddress}/${p}`;
}

function cols(users: (n: NetworkRow) => string[]): Column<NetworkRow>[] {
  return [
    { id: 'name', title: 'NETWORK', min: 10, max: 20, get: (n) => n.name },
    { id: 'state', title: 'STATE', min: 8, get: (n) => (n.active ? 'active' : 'inactive') },
    { id: 'auto', title: 'AUTOSTART', min: 9, get: (n) => (n.autostart ? 'yes' : 'no') },
    { id: 'bridge', title: 'BRIDGE', min: 7, max: 12, get: (n) => n.bridge || '-' },
    { id: 'addr', title: 'ADDRESS', min: 15, max: 20, get: addressText },
    { id: 'dhcp', title: 'DHCP RANGE', min: 10, max: 34, drop: 2, get: (n) => (n.dhcpStart ? `${n.dhcpStart} - ${n.dhcpEnd}` : '-') },
    { id: 'vms', title: 'VMS', min: 4, align: 'right', get: (n) => String(users(n).length) },
  ];
}

export class NetworkScreen extends Screen implements Navigable {
  readonly id = 'networks';
  readonly title = 'Networks';
  private sel = 0;
  private top = 0;
  /** The lower pane: the VMs on the selected network, or its DHCP leases. */
  pane: 'vms' | 'leases' = 'vms';

  constructor(
    private readonly h: ScreenHost,
    public node: string,
  ) {
    super();
  }

  /** Re-read while shown, every 5 s; who uses what comes with the answer (the agent's usedBy). */
  private readonly refresher = new Refresher(5000);

  override show(): void {
    this.refresher.start(() => {
      void this.h.cmds.loadNetworks(this.node);
      if (this.pane === 'leases') this.readLeases();
    });
  }

  override hide(): void {
    this.refresher.stop();
  }

  private rows(): NetworkRow[] {
    return this.h.manage.networks.get(this.node)?.data?.networks ?? [];
  }

  private users(n: string): string[] {
    return this.h.manage.networks.get(this.node)?.data?.users.get(n) ?? [];
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const l = this.h.manage.networks.get(this.node);
    const out = [titleLine(t, `Networks on ${this.node}  (${l?.loading ? 'loading...' : `read ${ago(l?.at)}`})`, width, isSimulated(this.h.store, this.node))];
    if (l?.error) out.push(t.bad(escapeTags(cell(`error: ${l.error}`, width))));
    if (!l?.data) {
      out.push('loading...');
      return out;
    }
    const rows = this.rows();
    const tableH = Math.min(rows.length + 1, Math.max(3, Math.floor((height - 4) / 2)));
    const tl = tableLines(cols((n) => this.users(n.name)), rows, this.sel, this.top, true, width, tableH, t);
    this.top = tl.top;
    out.push(...tl.lines);
    if (rows.length === 0) out.push(' no virtual networks on this node');
    const cur = rows[Math.min(this.sel, rows.length - 1)];
    if (cur && this.pane === 'leases') out.push('', ...this.leaseLines(cur.name, width, Math.max(1, height - out.length - 2)));
    else if (cur) {
      const users = this.users(cur.name);
      out.push('');
      out.push(t.head(escapeTags(cell(`VMs on ${cur.name} (${users.length})`, width))));
      const per = Math.max(1, Math.floor(width / 24));
      for (let i = 0; i < users.length && out.length < height - 1; i += per) {
        out.push(escapeTags(users.slice(i, i + per).map((u) => cell(`  ${u}`, 24)).join('')));
      }
      if (users.length === 0) out.push('  none');
    }
    return withFooter(out, height);
  }

  /** The selected network's leases: address, MAC, the name the guest sent, time left. */
  private leaseLines(net: string, width: number, room: number): string[] {
    const t = this.h.theme;
    const l = this.h.manage.leases.get(`${this.node}/${net}`);
    const out = [t.head(escapeTags(cell(`DHCP leases of ${net}${l?.data ? ` (${l.data.length})` : ''}${l?.loading ? '  reading...' : ''}`, width)))];
    if (l?.error) return [...out, t.bad(escapeTags(cell(`  ${l.error}`, width)))];
    if (!l?.data) return [...out, '  reading...'];
    if (l.data.length === 0) return [...out, '  none'];
    const now = Date.now() / 1000;
    out.push(escapeTags(cell(`  ${cell('ADDRESS', 19)} ${cell('MAC', 17)} ${cell('HOSTNAME', 20)} EXPIRES IN`, width)));
    for (const x of l.data.slice(0, Math.max(1, room - 2))) {
      out.push(escapeTags(cell(`  ${cell(`${x.ipAddress}/${x.prefix}`, 19)} ${cell(x.mac ?? '-', 17)} ${cell(x.hostname ?? '-', 20)} ${x.expiryTime > now ? fmtDuration((x.expiryTime - now) * 1000) : 'expired'}`, width)));
    }
    return out;
  }

  navigate(k: string): void {
    const before = this.sel;
    this.sel = moveSel(this.sel, this.rows().length, k) ?? this.sel;
    if (this.sel !== before && this.pane === 'leases') this.readLeases();
  }

  private readLeases(): void {
    const n = this.cur();
    if (n) void this.h.cmds.loadLeases(this.node, n.name);
  }

  toggleLeases(): void {
    this.pane = this.pane === 'leases' ? 'vms' : 'leases';
    if (this.pane === 'leases') this.readLeases();
  }

  create(): void {
    const h = this.h;
    h.prompt('new network (NAME ADDRESS/PREFIX [nat|isolated]): ', '', (text) => {
      const spec = networkSpec(text);
      if ('error' in spec) return h.say(spec.error, true);
      if (this.rows().some((n) => n.name === spec.name)) return h.say(`network ${spec.name} exists already on ${this.node}`, true);
      void h.cmds.networkCreate(this.node, spec.name, spec.xml);
    });
  }

  remove(): void {
    const h = this.h;
    const n = this.cur();
    if (!n) return;
    const users = this.users(n.name);
    h.confirm(
      [
        `Delete network ${n.name} on ${this.node}?${n.active ? ' It is stopped first.' : ''}`,
        ...(users.length > 0 ? ['VMs on it lose their network:', namesLine(users)] : ['No VM uses it.']),
        'Its definition is gone (network.xml shows it first, if you want a copy).',
      ],
      () => void h.cmds.networkDelete(this.node, n.name),
    );
  }

  private cur(): ReturnType<NetworkScreen['rows']>[number] | undefined {
    const rows = this.rows();
    return rows[Math.min(this.sel, rows.length - 1)];
  }

  stepNode(delta: number): void {
    this.node = stepNode(this.h.store, this.node, delta);
    this.sel = 0;
    this.show();
  }

  start(): void {
    const n = this.cur();
    if (!n) return;
    if (n.active) this.h.say(`network ${n.name} is already active`);
    else void this.h.cmds.networkStart(this.node, n.name);
  }

  stop(): void {
    const h = this.h;
    const n = this.cur();
    if (!n) return;
    if (!n.active) return h.say(`network ${n.name} is not active`);
    const users = this.users(n.name);
    h.confirm(
      [`Stop network ${n.name} on ${this.node}?`, ...(users.length > 0 ? ['VMs on it lose their network:', namesLine(users)] : ['No VM uses it.'])],
      () => void h.cmds.networkStop(this.node, n.name),
    );
  }

  static readonly TABLE: readonly Binding<NetworkScreen>[] = [
    ...listKeys<NetworkScreen>('network'),
    { keys: ['u'], help: 'start the network', hint: 'start', run: (s) => s.start() },
    { keys: ['d'], help: 'stop the network (asks first, naming the VMs on it)', hint: 'stop', run: (s) => s.stop() },
    {
      keys: ['a'],
      help: 'autostart on/off',
      hint: 'autostart',
      run: (s) => {
        const n = s.cur();
        if (n) void s.h.cmds.networkAutostart(s.node, n.name, !n.autostart);
      },
    },
    { keys: ['c'], help: 'create a network: define and start it (NAME ADDRESS/PREFIX [nat|isolated])', hint: 'create', run: (s) => s.create() },
    { keys: ['x', 'delete'], help: 'delete the network: stop it and remove its definition (asks first, naming the VMs on it)', hint: 'delete', run: (s) => s.remove() },
    { keys: ['l'], help: "the selected network's DHCP leases, or its VMs again", hint: 'leases', run: (s) => s.toggleLeases() },
    { keys: ['R'], help: 'reload the list', hint: 'reload', run: (s) => s.show() },
    { keys: ['['], help: 'previous node', run: (s) => s.stepNode(-1) },
    { keys: [']'], help: 'next node', hint: 'node', run: (s) => s.stepNode(1) },
  ];

  protected table(): readonly Binding<this>[] {
    return NetworkScreen.TABLE;
  }
}

/** Names as whole words on lines of at most `width` (never one cut in the middle). */
/** Names shown in a confirmation before "+N more": enough to recognise them, few enough to fit at 80x24. */
export const NAMES_SHOWN = 40;

/**
 * The VMs a network change cuts off, on one line the confirmation wraps between words: a name is
 * never cut in half, and past NAMES_SHOWN the rest are counted, not dropped in silence.
 */
export function namesLine(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  return names.length > NAMES_SHOWN ? `${shown}, +${names.length - NAMES_SHOWN} more` : shown;
}
