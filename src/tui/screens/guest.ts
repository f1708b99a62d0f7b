/**
 * Guest browser of one VM: processes (sortable, filterable, a signal after a
 * confirmation), users and who is logged in (add, lock/unlock, set a password
 * typed hidden, remove after a confirmation), services with actions, and OS,
 * uptime, filesystems and addresses. Refreshed while shown. Says plainly when
 * the guest has no agent, when qemu-guest-agent answered (less data), when the
 * data is simulated, and when the guest's policy refused an action.
 */
import type { Column } from '../format/text.js';
import { cell, escapeTags, wrapText } from '../format/text.js';
import { fmtBytes, fmtDuration, fmtKiB, fmtPct, pct } from '../format/units.js';
import type { GuestData, GuestSection } from '../store/manage.js';
import type { ProcessRow, ServiceRow, UserRow } from '../store/manage-decode.js';
import type { VmRecord } from '../store/model.js';
import { parseSignal } from '../commands/manage-validate.js';
import { PROC_SORTS, selectProcesses, type ProcSort } from './guest-table.js';
import { ago, tableLines, titleLine, withFooter } from './common.js';
import { listKeys, moveSel, Screen, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';
import { HOST_PROC_AGENT } from '../../api/guest.js';

export const GUEST_TABS = ['processes', 'users', 'services', 'system'] as const;
export type GuestTab = (typeof GUEST_TABS)[number];

const SECTIONS: Record<GuestTab, GuestSection[]> = {
  processes: ['processes'],
  users: ['users', 'sessions'],
  services: ['services'],
  system: ['info', 'filesystems', 'interfaces'],
};

const procCols: Column<ProcessRow>[] = [
  { id: 'pid', title: 'PID', min: 7, align: 'right', get: (p) => String(p.pid) },
  { id: 'user', title: 'USER', min: 8, max: 12, get: (p) => p.user },
  { id: 'state', title: 'S', min: 1, drop: 2, get: (p) => p.state },
  { id: 'cpu', title: 'CPU%', min: 5, align: 'right', get: (p) => fmtPct(p.cpuPct) },
  { id: 'rss', title: 'RSS', min: 6, align: 'right', get: (p) => fmtKiB(p.rssKiB) },
  { id: 'cmd', title: 'COMMAND', min: 10, max: 200, get: (p) => p.command },
];

function userCols(): Column<UserRow>[] {
  return [
    { id: 'name', title: 'USER', min: 10, max: 16, get: (u) => u.name },
    { id: 'uid', title: 'UID', min: 6, align: 'right', get: (u) => String(u.uid) },
    { id: 'admin', title: 'ADMIN', min: 5, get: (u) => (u.admin ? 'yes' : '-') },
    { id: 'login', title: 'LOGGED IN', min: 9, get: (u) => (u.loggedIn ? 'yes' : '-') },
    { id: 'pw', title: 'PASSWORD', min: 8, drop: 2, get: (u) => u.password || '-' },
    { id: 'groups', title: 'GROUPS', min: 6, max: 40, drop: 1, get: (u) => u.groups.join(',') },
    { id: 'shell', title: 'SHELL', min: 0, max: 20, drop: 3, get: (u) => u.shell },
  ];
}

const svcCols: Column<ServiceRow>[] = [
  { id: 'name', title: 'SERVICE', min: 14, max: 28, get: (s) => s.name },
  { id: 'state', title: 'STATE', min: 8, get: (s) => s.state },
  { id: 'enabled', title: 'ENABLED', min: 8, get: (s) => s.enabled },
  { id: 'desc', title: 'DESCRIPTION', min: 0, max: 60, drop: 1, get: (s) => s.description },
];

const SVC_KEYS: Record<string, string> = { u: 'start', d: 'stop', r: 'restart', e: 'enable', E: 'disable' };

/** The agent line at the top: who answered and what that means for the data. */
export function agentLine(g: GuestData): { text: string; level: 'ok' | 'warn' | 'bad' } {
  const s = g.status;
  if (!s) return { text: 'asking the guest...', level: 'ok' };
  switch (s.agent) {
    case 'none':
      // A container's refusal says what is wrong on the host; installing an agent in it is not the answer.
      return { text: `no guest agent answers in this VM${s.detail ? `: ${s.detail}` : ''}${/\bcontainer\b/.test(s.detail) ? '' : ' (run vem guest-agent, or qemu-guest-agent for less data)'}`, level: 'bad' };
    case 'qemu-guest-agent':
      return { text: 'answered by qemu-guest-agent: less data (no processes, services or actions; users from who is logged in)', level: 'warn' };
    case 'simulated':
      return { text: 'SIMULATED guest data (demo): processes, users and services of a simulated guest', level: 'ok' };
    case HOST_PROC_AGENT:
      return { text: `no agent in this container: its processes are read by the node agent from the host's /proc${s.detail ? ` (${s.detail})` : ''}`, level: 'warn' };
    default:
      return { text: `answered by ${s.agent}`, level: 'ok' };
  }
}

/** Why a user name would be refused (as useradd's default rule), before it is sent. */
export function userProblem(name: string): string | undefined {
  if (name === '') return 'a name is needed';
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$/.test(name)) return `'${name}' is not a user name (lower-case letters, digits, _ and -, starting with a letter or _, at most 32)`;
  return undefined;
}

/** A VM's CPU (% of its node's CPUs) in top's unit (100 = one CPU busy); undefined when either figure is unknown. */
export function vmTopPct(nodeSharePct: number | undefined, nodeCpus: number | undefined): number | undefined {
  return nodeSharePct === undefined || nodeCpus === undefined || nodeCpus <= 0 ? undefined : nodeSharePct * nodeCpus;
}

export class GuestScreen extends Screen implements Navigable {
  readonly id = 'guest';
  readonly title = 'Guest browser';
  tab: GuestTab = 'processes';
  sort: ProcSort = 'cpu';
  reverse = false;
  filter = '';
  private sel: Record<GuestTab, number> = { processes: 0, users: 0, services: 0, system: 0 };
  private top: Record<GuestTab, number> = { processes: 0, users: 0, services: 0, system: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly h: ScreenHost,
    readonly vm: VmRecord,
    private readonly refreshMs = 3000,
  ) {
    super();
  }

  override show(): void {
    void this.h.cmds.loadGuest(this.vm, Object.values(SECTIONS).flat());
    this.timer = setInterval(() => void this.h.cmds.loadGuest(this.vm, SECTIONS[this.tab]), this.refreshMs);
    this.timer.unref();
  }

  override hide(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private data(): GuestData {
    return this.h.manage.guest(this.vm.key);
  }

  /** Processes read from the host (an LXC container): nothing inside takes a signal from the browser. */
  fromHost(): boolean {
    return this.data().status?.agent === HOST_PROC_AGENT;
  }

  processes(): ProcessRow[] {
    return selectProcesses(this.data().processes ?? [], this.filter, this.sort, this.reverse);
  }

  private users(): UserRow[] {
    return (this.data().users ?? []).slice().sort((a, b) => Number(a.system) - Number(b.system) || a.uid - b.uid);
  }

  private services(): ServiceRow[] {
    return this.data().services ?? [];
  }

  private count(): number {
    return this.tab === 'processes' ? this.processes().length : this.tab === 'users' ? this.users().length : this.tab === 'services' ? this.services().length : 0;
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const g = this.data();
    const sim = g.status?.agent === 'simulated' || g.status?.simulated === true;
    const out = [titleLine(t, `Guest of ${this.vm.name} on ${this.vm.node}  (${g.loading ? 'reading...' : `read ${ago(g.at)}`})`, width, sim)];
    const a = agentLine(g);
    // The agent line is how an admin learns why the browser is empty: wrapped at words, never cut mid-name.
    for (const l of wrapText(`agent: ${a.text}`, width, 4)) {
      const al = escapeTags(cell(l, width));
      out.push(a.level === 'bad' ? t.bad(al) : a.level === 'warn' ? t.warn(al) : al);
    }
    if (g.refused) out.push(t.bad(escapeTags(cell(`REFUSED: ${g.refused}`, width))));
    out.push(escapeTags(GUEST_TABS.map((x, i) => (x === this.tab ? `[${i + 1} ${x}]` : ` ${i + 1} ${x} `)).join(' ')));
    if (g.status?.agent === 'none') {
      return withFooter(out, height);
    }
    const body = height - out.length - 1;
    const errOf = (s: GuestSection): string | undefined => g.errors[s];
    const errLine = (s: GuestSection): string[] => {
      const e = errOf(s);
      return e ? [t.warn(escapeTags(cell(`${s}: not available (${e})`, width)))] : [];
    };
    if (this.tab === 'processes') {
      const rows = this.processes();
      const vm = this.h.store.vms.get(this.vm.key) ?? this.vm;
      const used = vmTopPct(vm.cpuPct, this.h.store.nodes.get(vm.node)?.host?.cpus);
      // The VM list's CPU% is a share of the whole node; a process's is top's (100 = one vCPU): say both in top's unit.
      const unit = `  CPU% per vCPU${used !== undefined ? `, VM ${fmtPct(used)} of ${Math.max(1, vm.vcpus) * 100}%` : ''}`;
      out.push(escapeTags(cell(`${rows.length} of ${(g.processes ?? []).length} processes  sort ${this.sort}${this.reverse ? ' (reversed)' : ''}${this.filter ? `  filter "${this.filter}"` : ''}${unit}`, width)));
      // Who answered: the guest's own agent, or the node agent reading a container from the host.
      if (g.processSource) out.push(escapeTags(cell(`source: ${g.processSource}`, width)));
      out.push(...errLine('processes'));
      const tl = tableLines(procCols, rows, this.sel.processes, this.top.processes, true, width, body - 1 - (g.processSource ? 1 : 0) - errLine('processes').length, t);
      this.top.processes = tl.top;
      out.push(...tl.lines);
    } else if (this.tab === 'users') {
      const users = this.users();
      const sess = g.sessions ?? [];
      out.push(...errLine('users'));
      const tableH = Math.max(3, body - Math.min(sess.length, 5) - 3 - errLine('users').length);
      const tl = tableLines(userCols(), users, this.sel.users, this.top.users, true, width, tableH, t);
      this.top.users = tl.top;
      out.push(...tl.lines);
      out.push(t.head(`logged in (${sess.length})`), ...errLine('sessions'));
      for (const s of sess.slice(0, 5)) out.push(escapeTags(cell(`  ${cell(s.user, 12)} ${cell(s.line, 8)} ${cell(s.host || 'local', 20)} since ${s.loginTime}`, width)));
    } else if (this.tab === 'services') {
      out.push(escapeTags(`init: ${g.init || '?'}`), ...errLine('services'));
      const tl = tableLines(svcCols, this.services(), this.sel.services, this.top.services, true, width, body - 1 - errLine('services').length, t);
      this.top.services = tl.top;
      out.push(...tl.lines);
    } else {
      const i = g.info;
      out.push(...errLine('info'));
      if (i) {
        out.push(escapeTags(cell(`OS ${i.os || '?'}  kernel ${i.kernel || '?'}  hostname ${i.hostname || '?'}`, width)));
        out.push(escapeTags(cell(`uptime ${i.uptimeSec !== undefined ? fmtDuration(i.uptimeSec * 1000) : '-'}  load ${i.load ?? '-'}  CPUs ${i.cpus ?? '-'}  memory ${fmtKiB(i.memTotalKiB)} (${fmtKiB(i.memAvailableKiB)} available)`, width)));
      }
      out.push('', t.head('filesystems'), ...errLine('filesystems'));
      for (const f of g.filesystems ?? []) out.push(escapeTags(cell(`  ${cell(f.mountPoint, 16)} ${cell(f.device, 14)} ${cell(f.fsType, 6)} ${cell(fmtBytes(f.usedBytes), 6, 'right')} of ${cell(fmtBytes(f.totalBytes), 6, 'right')} ${f.totalBytes ? fmtPct(pct(f.usedBytes ?? 0, f.totalBytes)) : ''}`, width)));
      out.push('', t.head('addresses'), ...errLine('interfaces'));
      for (const n of g.interfaces ?? []) out.push(escapeTags(cell(`  ${cell(n.name, 10)} ${cell(n.state, 7)} ${cell(n.mac, 17)} ${n.addresses.join(' ')}`, width)));
    }
    return withFooter(out, height);
  }

  navigate(k: string): void {
    this.sel[this.tab] = moveSel(this.sel[this.tab], this.count(), k) ?? this.sel[this.tab];
  }

  showTab(i: number | 'next'): void {
    this.tab = i === 'next' ? GUEST_TABS[(GUEST_TABS.indexOf(this.tab) + 1) % GUEST_TABS.length] ?? 'processes' : GUEST_TABS[i] ?? 'processes';
    void this.h.cmds.loadGuest(this.vm, SECTIONS[this.tab]);
  }

  service(action: string): void {
    const s = this.services()[this.sel.services];
    if (s) this.h.confirm([`${action} service ${s.name} in ${this.vm.name}? (now ${s.state}, ${s.enabled})`], () => void this.h.cmds.serviceAction(this.vm, s.name, action));
  }

  signal(): void {
    const h = this.h;
    const p = this.processes()[this.sel.processes];
    if (!p) return;
    h.prompt(`signal to pid ${p.pid} (${p.name || p.command}) [TERM, KILL, HUP, INT, ...]: `, 'TERM', (text) => {
      const sig = parseSignal(text);
      if (!sig) return h.say(`signal: '${text}' is not one of TERM, KILL, HUP, INT, QUIT, USR1, USR2, STOP, CONT`, true);
      h.confirm([`Send SIG${sig} to pid ${p.pid} in ${this.vm.name}?`, `${p.user}: ${p.command}`.slice(0, 80)], () => void h.cmds.guestSignal(this.vm, p.pid, sig));
    });
  }

  private user(): UserRow | undefined {
    return this.users()[this.sel.users];
  }

  addUser(): void {
    const h = this.h;
    h.prompt(`add user in ${this.vm.name} (NAME [SHELL]): `, '', (text) => {
      const [name = '', shell, ...rest] = text.trim().split(/\s+/);
      const bad = userProblem(name) ?? (rest.length > 0 ? `unexpected '${rest.join(' ')}' (NAME [SHELL])` : shell !== undefined && !shell.startsWith('/') ? `shell '${shell}' is not an absolute path` : undefined);
      if (bad) return h.say(`add user: ${bad}`, true);
      if (this.users().some((u) => u.name === name)) return h.say(`user ${name} exists already in ${this.vm.name}`, true);
      void h.cmds.userAdd(this.vm, name, shell);
    });
  }

  toggleLock(): void {
    const u = this.user();
    if (!u) return;
    const lock = u.password !== 'locked';
    this.h.confirm([`${lock ? 'Lock' : 'Unlock'} the password of ${u.name} in ${this.vm.name}?`, lock ? 'Password logins stop; SSH keys and open sessions are not touched.' : 'The password they had works again.'], () => void this.h.cmds.userLock(this.vm, u.name, lock));
  }

  setPassword(): void {
    const h = this.h;
    const u = this.user();
    if (!u) return;
    // Typed hidden, asked twice; the guest hashes it, and it is never shown or logged here.
    h.prompt(`new password for ${u.name} in ${this.vm.name} (hidden): `, '', (first) => {
      if (first === '') return h.say('password: empty, nothing changed', true);
      h.prompt(`the same password again (hidden): `, '', (again) => {
        if (again !== first) return h.say('password: the two did not match, nothing changed', true);
        void h.cmds.userSetPassword(this.vm, u.name, first);
      }, { secret: true });
    }, { secret: true });
  }

  removeUser(): void {
    const u = this.user();
    if (!u) return;
    this.h.confirm(
      [`Remove user ${u.name} (uid ${u.uid}) in ${this.vm.name}?`, ...(u.admin ? ['It is an ADMIN account.'] : []), ...(u.loggedIn ? ['It is logged in now.'] : []), 'Its home folder is left as it is.'],
      () => void this.h.cmds.userRemove(this.vm, u.name),
    );
  }

  static readonly TABLE: readonly Binding<GuestScreen>[] = [
    ...listKeys<GuestScreen>(),
    { keys: ['1'], help: 'processes tab', run: (g) => g.showTab(0) },
    { keys: ['2'], help: 'users tab', run: (g) => g.showTab(1) },
    { keys: ['3'], help: 'services tab', run: (g) => g.showTab(2) },
    { keys: ['4'], help: 'OS, filesystems and addresses tab', run: (g) => g.showTab(3) },
    { keys: ['tab'], help: 'next tab', hint: 'next tab', run: (g) => g.showTab('next') },
    { keys: ['R'], help: 'read the tab again', hint: 'reload', run: (g) => void g.h.cmds.loadGuest(g.vm, SECTIONS[g.tab]) },
    { keys: ['x', 'delete'], help: 'processes: send a signal to the selected process (asks first)', hint: 'signal', when: (g) => g.tab === 'processes' && !g.fromHost(), run: (g) => g.signal() },
    { keys: ['s'], help: 'processes: sort by the next column', hint: 'sort', when: (g) => g.tab === 'processes', run: (g) => (g.sort = PROC_SORTS[(PROC_SORTS.indexOf(g.sort) + 1) % PROC_SORTS.length] ?? 'cpu') },
    { keys: ['S'], help: 'processes: reverse the sort', when: (g) => g.tab === 'processes', run: (g) => (g.reverse = !g.reverse) },
    {
      keys: ['/'],
      help: 'processes: filter by name, user or command',
      hint: 'filter',
      when: (g) => g.tab === 'processes',
      run: (g) =>
        g.h.prompt('filter processes: ', g.filter, (text) => {
          g.filter = text;
          g.sel.processes = 0;
        }),
    },
    { keys: ['a'], help: 'users: add a user (NAME [SHELL]; no password until one is set)', hint: 'add user', when: (g) => g.tab === 'users', run: (g) => g.addUser() },
    { keys: ['l'], help: "users: lock or unlock the selected user's password (asks first)", hint: 'lock/unlock', when: (g) => g.tab === 'users', run: (g) => g.toggleLock() },
    { keys: ['p'], help: "users: set the selected user's password (typed hidden, twice)", hint: 'password', when: (g) => g.tab === 'users', run: (g) => g.setPassword() },
    { keys: ['x', 'delete'], help: 'users: remove the selected user (asks first)', hint: 'remove', when: (g) => g.tab === 'users', run: (g) => g.removeUser() },
    ...Object.entries(SVC_KEYS).map(([k, action]): Binding<GuestScreen> => ({ keys: [k], help: `services: ${action} the selected service (asks first)`, hint: action, when: (g) => g.tab === 'services', run: (g) => g.service(action) })),
  ];

  protected table(): readonly Binding<this>[] {
    return GuestScreen.TABLE;
  }
}
