/**
 * The one key registry: every key the dashboard answers, where it applies and
 * what it does. `?` renders this table; the app dispatches through it. Entries
 * marked `reserved` (none at present) show "not in this version" until they land.
 */

export type Scope = 'global' | 'table' | 'nodes' | 'console' | 'dialog';

export interface KeyBinding {
  /** blessed key names ("space", "C-]", "S-tab", "enter") or single characters. */
  keys: string[];
  scope: Scope;
  action: string;
  help: string;
  reserved?: boolean;
}

export const KEYS: readonly KeyBinding[] = [
  { keys: ['?'], scope: 'global', action: 'help', help: 'this help: every key and command' },
  { keys: [':'], scope: 'global', action: 'command', help: 'command line (:vm NAME, :node NAME, :migrate, :console, ...)' },
  { keys: ['/'], scope: 'global', action: 'filter', help: 'filter the VM table (name, node or state; empty clears)' },
  { keys: ['q'], scope: 'global', action: 'quit', help: 'quit (Esc/q also closes a dialog or view first)' },
  { keys: ['escape'], scope: 'global', action: 'back', help: 'close the dialog or view, clear the filter' },
  { keys: ['tab'], scope: 'global', action: 'focus', help: 'switch between the node list and the VM table' },
  { keys: ['w'], scope: 'global', action: 'wall', help: 'wall mode: the whole cluster at a glance, no keys needed' },
  { keys: ['t'], scope: 'global', action: 'tasks', help: 'tasks: per-VM progress and results of recent actions' },
  { keys: ['A'], scope: 'global', action: 'glyphs', help: 'toggle ASCII charts (for terminals without braille)' },
  { keys: ['up', 'k'], scope: 'table', action: 'up', help: 'move up' },
  { keys: ['down', 'j'], scope: 'table', action: 'down', help: 'move down' },
  { keys: ['pageup', 'C-b'], scope: 'table', action: 'pageup', help: 'page up' },
  { keys: ['pagedown', 'C-f'], scope: 'table', action: 'pagedown', help: 'page down' },
  { keys: ['g', 'home'], scope: 'table', action: 'top', help: 'first row' },
  { keys: ['G', 'end'], scope: 'table', action: 'bottom', help: 'last row' },
  { keys: ['enter'], scope: 'table', action: 'detail', help: 'details and live charts of the selected VM or node' },
  { keys: ['s'], scope: 'table', action: 'sort', help: 'sort by the next column' },
  { keys: ['S'], scope: 'table', action: 'reverse', help: 'reverse the sort order' },
  { keys: ['space'], scope: 'table', action: 'mark', help: 'mark / unmark the VM (actions apply to all marked VMs)' },
  { keys: ['*'], scope: 'table', action: 'markPattern', help: 'mark every VM matching a pattern (glob: web-*)' },
  { keys: ['x'], scope: 'table', action: 'unmark', help: 'clear all marks' },
  { keys: ['u'], scope: 'table', action: 'start', help: 'start (up)' },
  { keys: ['d'], scope: 'table', action: 'shutdown', help: 'shut down (asks first)' },
  { keys: ['D'], scope: 'table', action: 'destroy', help: 'destroy: force off (asks first)' },
  { keys: ['r'], scope: 'table', action: 'reboot', help: 'reboot (asks first)' },
  { keys: ['p'], scope: 'table', action: 'suspend', help: 'pause (suspend)' },
  { keys: ['P'], scope: 'table', action: 'resume', help: 'resume' },
  { keys: ['n'], scope: 'table', action: 'snapshot', help: 'snapshots: create, revert, delete' },
  { keys: ['v'], scope: 'table', action: 'vcpus', help: 'set vCPUs' },
  { keys: ['M'], scope: 'table', action: 'memory', help: 'set memory (MiB)' },
  { keys: ['m'], scope: 'table', action: 'migrate', help: 'migrate: choose a target node, live or offline, follow progress' },
  { keys: ['T'], scope: 'nodes', action: 'trustHostKey', help: "trust the node's new SSH host key: shows its fingerprint to check first" },
  { keys: ['R'], scope: 'nodes', action: 'reconnect', help: 'reconnect to the node now (after fixing a key, an agent, a network)' },
  { keys: ['E'], scope: 'nodes', action: 'evacuate', help: "evacuate the node: preview, then migrate all its VMs away" },
  { keys: ['c'], scope: 'table', action: 'console', help: 'serial console in a pane (Ctrl-] returns)' },
  { keys: ['C'], scope: 'table', action: 'consoleFull', help: 'serial console full screen (Ctrl-] returns)' },
  { keys: ['C-]'], scope: 'console', action: 'consoleExit', help: 'leave the console, back to the dashboard' },
  { keys: ['a'], scope: 'table', action: 'create', help: 'create a VM on the selected node: a form checked before anything is sent' },
  { keys: ['K'], scope: 'table', action: 'clone', help: 'clone a stopped VM: new name, copies of its volumes, new MACs' },
  { keys: ['e'], scope: 'table', action: 'edit', help: "edit the VM: attach/detach disks and NICs, a NIC's network, boot order" },
  { keys: ['X'], scope: 'table', action: 'xml', help: "edit the VM's XML in $EDITOR; a refused edit keeps your text" },
  { keys: ['i'], scope: 'table', action: 'guest', help: 'guest browser: processes, users, services, OS and filesystems' },
];

export interface CommandSpec {
  name: string;
  args: string;
  help: string;
  reserved?: boolean;
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'vm', args: 'NAME', help: 'select a VM (node/name or name) and show its details' },
  { name: 'node', args: 'NAME', help: 'select a node and show its details' },
  { name: 'migrate', args: '[VM] [NODE]', help: 'migration dialog for the selected (or named) VM' },
  { name: 'evacuate', args: '[NODE]', help: 'evacuate a node, with a preview first' },
  { name: 'trust', args: '[NODE]', help: "trust a node's new SSH host key, after checking its fingerprint" },
  { name: 'reconnect', args: '[NODE]', help: 'reconnect to a node now' },
  { name: 'console', args: '[VM]', help: 'serial console of the selected (or named) VM' },
  { name: 'filter', args: 'TEXT', help: 'same as /' },
  { name: 'sort', args: 'COLUMN', help: 'sort by name, node, state, cpu, mem, vcpus, memory, disk, net' },
  { name: 'wall', args: '', help: 'wall mode' },
  { name: 'tasks', args: '', help: 'recent actions with per-VM results' },
  { name: 'help', args: '', help: 'this help' },
  { name: 'quit', args: '', help: 'quit (also :q)' },
  { name: 'create', args: '[NAME]', help: 'create a VM on the selected node' },
  { name: 'clone', args: '[VM]', help: 'clone a stopped VM (new name, copies of its volumes, new MACs)' },
  { name: 'edit', args: '[VM]', help: 'attach/detach disks and NICs, boot order' },
  { name: 'xml', args: '[VM]', help: "edit the VM's XML in $EDITOR" },
  { name: 'delete', args: '[VM]', help: 'delete a stopped VM, with or without its volumes' },
  { name: 'storage', args: '[NODE]', help: 'storage pools and volumes' },
  { name: 'networks', args: '[NODE]', help: 'virtual networks' },
  { name: 'guest', args: '[VM]', help: 'guest browser' },
];

/** The action bound to a key in a scope (falling back to global bindings). */
export function actionFor(key: string, scopes: readonly Scope[]): KeyBinding | undefined {
  for (const s of scopes) {
    const b = KEYS.find((k) => k.scope === s && k.keys.includes(key));
    if (b) return b;
  }
  return undefined;
}

/** Resolve a typed command name (unique prefixes allowed, `q` = quit). */
export function findCommand(word: string): CommandSpec | undefined {
  if (word === 'q' || word === 'q!') return COMMANDS.find((c) => c.name === 'quit');
  const exact = COMMANDS.find((c) => c.name === word);
  if (exact) return exact;
  const pre = COMMANDS.filter((c) => c.name.startsWith(word));
  return pre.length === 1 ? pre[0] : undefined;
}

/** The help screen's lines, grouped by scope. */
export function helpLines(): string[] {
  const titles: Record<Scope, string> = { global: 'Everywhere', table: 'VM table', nodes: 'Node list', console: 'Console', dialog: 'Dialogs' };
  const out: string[] = [];
  for (const scope of ['global', 'table', 'nodes', 'console'] as Scope[]) {
    out.push(titles[scope]);
    for (const k of KEYS.filter((b) => b.scope === scope)) out.push(`  ${k.keys.join(' ').padEnd(14)} ${k.help}${k.reserved ? ' [later]' : ''}`);
  }
  out.push('Commands (:)');
  for (const c of COMMANDS) out.push(`  :${`${c.name} ${c.args}`.padEnd(18)} ${c.help}${c.reserved ? ' [later]' : ''}`);
  out.push('Dialogs: y/enter confirm, n/Esc cancel, up/down choose, l live/offline, c cancel migration');
  return out;
}
