/**
 * Key bindings as data that carries its handler (k9s's KeyActions, lazygit's
 * Binding lists). Each screen declares one table; the same declaration answers
 * the key, names the `:` command, writes the footer hint and the `?` line, so
 * the four can never disagree.
 */

/** What a binding says about itself: enough for `?` and the footer. */
export interface BindingInfo {
  /** blessed key names ("space", "C-]", "S-tab", "enter") or single characters; empty for a command only. */
  readonly keys: readonly string[];
  readonly help: string;
  /** A short label for the footer; a binding without one is only in `?`. */
  readonly hint?: string;
  /** The `:` command that runs the same handler (with the rest of the line as its argument). */
  readonly command?: string;
  readonly args?: string;
}

/** A binding of a screen of type P: the handler gets the screen and the command's argument ('' for a key). */
export interface Binding<P> extends BindingInfo {
  run(p: P, arg: string): void;
  /** When it applies (a node selected, a dialog in a state); a disabled binding is not offered. */
  when?(p: P): boolean;
}

/** A binding tied to one screen instance. */
export interface Bound extends BindingInfo {
  run(arg?: string): void;
  enabled(): boolean;
}

export function bind<P>(p: P, table: readonly Binding<P>[]): Bound[] {
  return table.map((b) => ({
    keys: b.keys,
    help: b.help,
    ...(b.hint !== undefined ? { hint: b.hint } : {}),
    ...(b.command !== undefined ? { command: b.command } : {}),
    ...(b.args !== undefined ? { args: b.args } : {}),
    run: (arg = '') => b.run(p, arg),
    enabled: () => (b.when ? b.when(p) : true),
  }));
}

/** The enabled binding for a key, first declared first. */
export function findKey(bound: readonly Bound[], key: string): Bound | undefined {
  return bound.find((b) => b.keys.includes(key) && b.enabled());
}

/** Resolve a typed command name among bindings: exact, `q` for quit, or a unique prefix. */
export function findCommandIn(bound: readonly Bound[], word: string): Bound | undefined {
  const w = word === 'q' || word === 'q!' ? 'quit' : word;
  const named = bound.filter((b) => b.command !== undefined);
  const exact = named.find((b) => b.command === w);
  if (exact) return exact;
  const pre = named.filter((b) => b.command?.startsWith(w));
  const names = new Set(pre.map((b) => b.command));
  return names.size === 1 ? pre[0] : undefined;
}

const KEY_LABELS: Record<string, string> = { escape: 'Esc', enter: 'enter', space: 'space', tab: 'tab', 'S-tab': 'S-tab', up: 'up', down: 'down' };

export function keyLabel(k: string): string {
  return KEY_LABELS[k] ?? k;
}

/**
 * The footer: `key hint` pairs of the enabled bindings that have a hint, as many
 * whole pairs as fit (never one cut in the middle); `~` says some were left out.
 */
export function footerHints(bound: readonly Bound[], width: number): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const b of bound) {
    if (b.hint === undefined || b.keys.length === 0 || !b.enabled()) continue;
    const p = `${keyLabel(b.keys[0] ?? '')} ${b.hint}`;
    if (seen.has(p)) continue;
    seen.add(p);
    parts.push(p);
  }
  let out = '';
  for (const p of parts) {
    const next = out ? `${out}  ${p}` : p;
    if (next.length > width - 3) return out ? `${out}  ~` : '';
    out = next;
  }
  return out;
}

export interface HelpSection {
  title: string;
  bindings: readonly BindingInfo[];
}

/** The `?` screen: every binding of every screen, then every `:` command, all from the declarations. */
export function helpLines(sections: readonly HelpSection[]): string[] {
  const out: string[] = [];
  const commands: BindingInfo[] = [];
  for (const s of sections) {
    const withKeys = s.bindings.filter((b) => b.keys.length > 0);
    if (withKeys.length > 0) {
      out.push(s.title);
      for (const b of withKeys) out.push(`  ${b.keys.map(keyLabel).join(' ').padEnd(14)} ${b.help}`);
    }
    for (const b of s.bindings) if (b.command !== undefined && !commands.some((c) => c.command === b.command)) commands.push(b);
  }
  out.push('Commands (:)');
  for (const c of commands) out.push(`  :${`${c.command ?? ''} ${c.args ?? ''}`.padEnd(18)} ${c.help}`);
  return out;
}

/** Keys bound twice within one table (a declaration error the tests catch). */
export function duplicateKeys(table: readonly BindingInfo[]): string[] {
  const seen = new Map<string, number>();
  for (const b of table) for (const k of b.keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}
