/** Key dispatch: console first, then the input line, a dialog, and the keymap. */
import type { Dashboard } from './app.js';
import { actionFor, findCommand, type Scope } from '../keymap.js';
import { CONSOLE_ESCAPE } from './console.js';
import { dialogKey, openSnapshots } from './dialogs.js';
import { globMatcher, SORT_KEYS, type SortKey } from './vmlist.js';
import { planEvacuation, targetsFor } from '../commands/plan.js';
import type { VmOp } from '../commands/index.js';
import { viewSpec } from './registry.js';

export interface KeyEvent {
  name?: string;
  full?: string;
  sequence?: string;
  ctrl?: boolean;
  shift?: boolean;
}

/** One name per key: printable characters as themselves, others by blessed's name. */
export function keyName(ch: string | undefined, key: KeyEvent): string {
  // blessed reports "\r" twice: as 'return' and again as 'enter'; act on 'enter' only.
  if (key.name === 'return') return '';
  if (key.name === 'enter') return 'enter';
  if (key.name === 'space' || ch === ' ') return 'space';
  if (ch && ch.length === 1 && ch >= '!' && ch <= '~' && !key.ctrl) return ch;
  return key.full ?? key.name ?? ch ?? '';
}

export function handleKey(d: Dashboard, ch: string | undefined, key: KeyEvent): void {
  const c = d.console;
  if (c) {
    const seq = key.sequence ?? ch ?? '';
    if (key.name === 'enter' && seq === '\r') return; // the duplicate of 'return'
    if (seq === CONSOLE_ESCAPE) return d.closeConsole();
    if (c.session.closed) return;
    if (seq) c.session.send(seq);
    return;
  }
  const k = keyName(ch, key);
  if (k === '') return;
  if (d.input) return inputKey(d, k, ch);
  if (d.dialog) return dialogKey(d, d.dialog, k);
  if (k === 'C-c') return d.quit(0);
  const screen = d.screens.current;
  if (screen && d.view !== 'help') {
    if (screen.key(k)) return;
    if (k === 'escape' || k === 'q') return d.screens.close();
    if (k !== ':' && k !== '?') return;
  }
  if (d.view === 'wall') {
    if (k === 'escape' || k === 'w' || k === 'q') d.view = 'overview';
    return;
  }
  if (d.view === 'help') {
    if (k === 'down' || k === 'j') d.helpTop = Math.min(d.helpLines.length - 1, d.helpTop + 1);
    else if (k === 'up' || k === 'k') d.helpTop = Math.max(0, d.helpTop - 1);
    else if (k === 'escape' || k === 'q' || k === '?') d.view = 'overview';
    return;
  }
  const scopes: Scope[] = d.focus === 'nodes' ? ['nodes', 'table', 'global'] : ['table', 'global'];
  const b = actionFor(k, scopes);
  if (!b) return;
  if (b.reserved) return d.cmd.say(`${b.help}: not in this version`, true);
  act(d, b.action);
}

function inputKey(d: Dashboard, k: string, ch: string | undefined): void {
  const inp = d.input;
  if (!inp) return;
  if (k === 'escape') {
    d.input = undefined;
    inp.cancel?.();
  } else if (k === 'enter') {
    d.input = undefined;
    inp.submit(inp.secret ? inp.buf : inp.buf.trim());
  } else if (k === 'backspace') inp.buf = inp.buf.slice(0, -1);
  else if (k === 'C-u') inp.buf = '';
  else if (k === 'space') inp.buf += ' ';
  else if (ch && ch.length === 1 && ch >= ' ') inp.buf += ch;
}

function move(d: Dashboard, delta: number | 'top' | 'bottom'): void {
  if (d.focus === 'nodes') {
    const i = d.nodeRows.findIndex((n) => n.name === d.selNode);
    const j = delta === 'top' ? 0 : delta === 'bottom' ? d.nodeRows.length - 1 : Math.max(0, Math.min(d.nodeRows.length - 1, i + delta));
    d.selNode = d.nodeRows[j]?.name ?? d.selNode;
    return;
  }
  const i = d.rows.findIndex((r) => r.key === d.selVm);
  const j = delta === 'top' ? 0 : delta === 'bottom' ? d.rows.length - 1 : Math.max(0, Math.min(d.rows.length - 1, i + delta));
  d.selVm = d.rows[j]?.key ?? d.selVm;
}

function names(vms: Array<{ name: string }>): string {
  const n = vms.map((v) => v.name);
  return n.length <= 4 ? n.join(', ') : `${n.slice(0, 3).join(', ')} and ${n.length - 3} more`;
}

function vmOp(d: Dashboard, op: VmOp, confirm: boolean): void {
  const vms = d.targets();
  if (vms.length === 0) return d.cmd.say('no VM selected', true);
  const run = (): void => void d.cmd.vmOp(op, vms);
  if (!confirm) return run();
  const what = op === 'destroy' ? 'Force off (destroy)' : op === 'shutdown' ? 'Shut down' : 'Reboot';
  d.dialog = { kind: 'confirm', lines: [`${what} ${vms.length === 1 ? '' : `${vms.length} VMs: `}${names(vms)}?`, ...(op === 'destroy' ? ['Like pulling the power cord: unsaved guest data is lost.'] : [])], yes: run };
}

const PAGE = 10;

export function act(d: Dashboard, action: string, arg = ''): void {
  const vm = d.selectedVm();
  switch (action) {
    case 'help':
      d.view = 'help';
      d.helpTop = 0;
      return;
    case 'command':
      d.input = { prompt: ':', buf: '', submit: (t) => runCommand(d, t) };
      return;
    case 'filter':
      d.input = { prompt: '/', buf: d.filter, submit: (t) => {
          d.filter = t;
          d.vmTop = 0;
        },
      };
      return;
    case 'quit':
      if (d.view !== 'overview') d.view = 'overview';
      else d.quit(0);
      return;
    case 'back':
      if (d.view !== 'overview') d.view = 'overview';
      else if (d.filter) d.filter = '';
      return;
    case 'focus':
      d.focus = d.focus === 'vms' ? 'nodes' : 'vms';
      return;
    case 'wall':
      d.view = 'wall';
      return;
    case 'tasks':
      d.view = d.view === 'tasks' ? 'overview' : 'tasks';
      return;
    case 'glyphs':
      d.glyphs = d.glyphs === 'unicode' ? 'ascii' : 'unicode';
      return d.cmd.say(`charts: ${d.glyphs}`);
    case 'up':
      return move(d, -1);
    case 'down':
      return move(d, 1);
    case 'pageup':
      return move(d, -PAGE);
    case 'pagedown':
      return move(d, PAGE);
    case 'top':
      return move(d, 'top');
    case 'bottom':
      return move(d, 'bottom');
    case 'detail':
      d.view = d.focus === 'nodes' ? 'node' : 'vm';
      if (d.view === 'vm' && vm) void d.pollers.get(vm.node)?.backfill(vm.name);
      return;
    case 'sort': {
      const i = SORT_KEYS.indexOf(d.sortKey);
      d.sortKey = SORT_KEYS[(i + 1) % SORT_KEYS.length] ?? 'name';
      return;
    }
    case 'reverse':
      d.reverse = !d.reverse;
      return;
    case 'mark':
      if (!vm) return;
      if (d.marks.has(vm.key)) d.marks.delete(vm.key);
      else d.marks.add(vm.key);
      return move(d, 1);
    case 'markPattern':
      d.input = {
        prompt: 'mark VMs matching: ',
        buf: '',
        submit: (p) => {
          if (!p) return;
          const m = globMatcher(p);
          let n = 0;
          for (const r of d.rows) {
            if (!m(r.name)) continue;
            d.marks.add(r.key);
            n++;
          }
          d.cmd.say(`marked ${n} VMs matching ${p} (${d.marks.size} marked)`);
        },
      };
      return;
    case 'unmark':
      d.marks.clear();
      return d.cmd.say('marks cleared');
    case 'start':
    case 'suspend':
    case 'resume':
      return vmOp(d, action, false);
    case 'shutdown':
    case 'destroy':
    case 'reboot':
      return vmOp(d, action, true);
    case 'snapshot':
      if (vm) openSnapshots(d, vm.key);
      return;
    case 'vcpus':
      if (!vm) return;
      d.input = {
        prompt: `vCPUs for ${vm.name} (now ${vm.vcpus}): `,
        buf: '',
        submit: (t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 1 || n > 512) return d.cmd.say(`vCPUs: '${t}' is not a whole number from 1 to 512`, true);
          void d.cmd.setVcpus(vm, n);
        },
      };
      return;
    case 'memory':
      if (!vm) return;
      d.input = {
        prompt: `memory MiB for ${vm.name} (now ${Math.round(vm.memKiB / 1024)}, max ${Math.round(vm.maxMemKiB / 1024)}): `,
        buf: '',
        submit: (t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 16) return d.cmd.say(`memory: '${t}' is not a whole number of MiB (16 or more)`, true);
          if (vm.maxMemKiB > 0 && n * 1024 > vm.maxMemKiB) return d.cmd.say(`memory: ${n} MiB is above the VM's maximum of ${Math.round(vm.maxMemKiB / 1024)} MiB`, true);
          void d.cmd.setMemory(vm, n * 1024);
        },
      };
      return;
    case 'migrate': {
      const target = arg ? d.rows.find((r) => r.name === arg || r.key === arg) ?? d.vm(arg) : vm;
      if (!target) return d.cmd.say(arg ? `no VM ${arg}` : 'no VM selected', true);
      const running = d.cmd.migrations.get(target.key);
      d.dialog = running && !running.finished ? { kind: 'progress', vmKey: target.key } : { kind: 'migrate', vmKey: target.key, sel: 0, live: target.state === 'running' || target.state === 'paused' };
      return;
    }
    case 'trustHostKey':
      return trustHostKey(d, arg);
    case 'reconnect': {
      const name = arg || d.selectedNode()?.name;
      const link = name ? d.links.get(name) : undefined;
      if (!link || !name) return d.cmd.say(name ? `no node ${name}` : 'no node selected', true);
      if (!link.reconnect) return d.cmd.say(`node ${name}: this link reconnects by itself`, true);
      link.reconnect();
      return d.cmd.say(`node ${name}: reconnecting now`);
    }
    case 'evacuate': {
      const node = arg ? d.store.nodes.get(arg) : d.selectedNode();
      if (!node) return d.cmd.say(arg ? `no node ${arg}` : 'no node selected', true);
      d.dialog = { kind: 'evacuate', node: node.name, steps: planEvacuation(node.name, [...d.store.nodes.values()], d.store.vmsOf(node.name)) };
      return;
    }
    case 'create':
    case 'clone':
    case 'edit':
    case 'xml':
    case 'guest':
      d.screens.openByName(action);
      return;
    case 'console':
    case 'consoleFull': {
      const target = arg ? d.rows.find((r) => r.name === arg || r.key === arg) : vm;
      if (!target) return d.cmd.say(arg ? `no VM ${arg}` : 'no VM selected', true);
      void d.openConsole(target, action === 'consoleFull');
      return;
    }
  }
}

/** `:` commands: jump, act, or say why not. */
export function runCommand(d: Dashboard, text: string): void {
  const [word = '', ...rest] = text.split(/\s+/);
  if (!word) return;
  const arg = rest.join(' ');
  const spec = findCommand(word);
  if (!spec) return d.cmd.say(`unknown command :${word} (? lists them)`, true);
  if (!spec.reserved && d.screens.openByName(spec.name, arg)) return;
  if (spec.name !== 'help') d.screens.close();
  if (spec.reserved) return d.cmd.say(`:${spec.name} (${viewSpec(spec.name)?.title ?? spec.help}): not in this version`, true);
  switch (spec.name) {
    case 'vm': {
      const q = arg.toLowerCase();
      const hit = [...d.store.vms.values()].find((v) => v.key.toLowerCase() === q || v.name.toLowerCase() === q) ?? [...d.store.vms.values()].find((v) => v.name.toLowerCase().includes(q));
      if (!hit) return d.cmd.say(`no VM matches '${arg}'`, true);
      d.filter = '';
      d.selVm = hit.key;
      d.focus = 'vms';
      d.view = 'vm';
      void d.pollers.get(hit.node)?.backfill(hit.name);
      return;
    }
    case 'node': {
      const n = d.store.nodes.get(arg) ?? [...d.store.nodes.values()].find((x) => x.name.includes(arg));
      if (!n) return d.cmd.say(`no node '${arg}'`, true);
      d.selNode = n.name;
      d.focus = 'nodes';
      d.view = 'node';
      return;
    }
    case 'migrate': {
      act(d, 'migrate', rest[0] ?? '');
      const dlg = d.dialog;
      if (rest[1] && dlg?.kind === 'migrate') {
        const v = d.vm(dlg.vmKey);
        const i = v ? targetsFor(v, d.store.nodes.values()).findIndex((f) => f.node === rest[1]) : -1;
        if (i < 0) d.cmd.say(`no node '${rest[1]}' to migrate to`, true);
        else dlg.sel = i;
      }
      return;
    }
    case 'evacuate':
      return act(d, 'evacuate', arg);
    case 'trust':
      return act(d, 'trustHostKey', arg);
    case 'reconnect':
      return act(d, 'reconnect', arg);
    case 'console':
      return act(d, 'console', arg);
    case 'filter':
      d.filter = arg;
      return;
    case 'sort':
      if (!(SORT_KEYS as readonly string[]).includes(arg)) return d.cmd.say(`sort by one of: ${SORT_KEYS.join(', ')}`, true);
      d.sortKey = arg as SortKey;
      return;
    case 'wall':
      d.view = 'wall';
      return;
    case 'tasks':
      d.view = 'tasks';
      return;
    case 'help':
      d.view = 'help';
      return;
    case 'quit':
      return d.quit(0);
  }
}

/**
 * Trust a node's new SSH host key, as ssh's first-connection question does: the
 * fingerprint is shown to check against the node (ssh-keygen -lf on its host key)
 * before anything is written. A changed key (hostkey-refused) is never offered.
 */
function trustHostKey(d: Dashboard, arg: string): void {
  const waiting = [...d.links.values()].filter((l) => l.pendingHostKey && l.trustHostKey);
  const name = arg || d.selectedNode()?.name || (waiting.length === 1 ? waiting[0]?.name : undefined);
  const link = name ? d.links.get(name) : undefined;
  if (!link || !name) return d.cmd.say(name ? `no node ${name}` : 'no node selected', true);
  const k = link.pendingHostKey;
  if (link.state === 'hostkey-refused') return d.cmd.say(`node ${name}: its host key CHANGED; not offered for trust. ${link.detail ?? ''}`, true);
  if (!k || !link.trustHostKey) return d.cmd.say(`node ${name} has no new host key to trust (link ${link.state})`, true);
  const trust = link.trustHostKey.bind(link);
  d.dialog = {
    kind: 'confirm',
    lines: [
      `Trust the SSH host key of node ${name}?`,
      `${k.hostPattern}  ${k.keyType}`,
      `${k.fingerprint}`,
      `Check it on the node first: ssh-keygen -lf /etc/ssh/ssh_host_${k.keyType.replace(/^ssh-|^ecdsa-sha2-nistp\d+$/, (m) => (m === 'ssh-' ? '' : 'ecdsa'))}_key.pub`,
      `It is added to ${k.knownHostsFile}.`,
    ],
    yes: () => {
      trust().then(
        () => d.cmd.say(`node ${name}: host key trusted (${k.fingerprint}); connecting`),
        (e: unknown) => d.cmd.say(`node ${name}: could not trust the key: ${e instanceof Error ? e.message : String(e)}`, true),
      );
    },
  };
}
