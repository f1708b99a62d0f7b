/**
 * `:events` (L): the session's cluster event log, newest first. Every node's
 * agent events (VM lifecycle, jobs and migrations with libvirt's reason, level-1
 * adjustments), link up and down, and level-2 decisions taken or declined.
 * `/` filters as you type (all words must occur); j/k scroll.
 */
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { Binding } from '../keymap.js';
import { escapeTags } from '../format/text.js';
import { eventLine, type EventLog, type LoggedEvent } from '../store/events.js';
import { BoundPage, type AppHost } from './page.js';
import type { Theme } from './theme.js';

export const EVENTS: readonly Binding<EventsPage>[] = [
  { keys: ['/'], help: 'filter the log: every word must occur (node, source/kind, VM, detail)', hint: 'filter', run: (p) => p.askFilter() },
  { keys: ['down', 'j'], help: 'scroll to older events', hint: 'scroll', run: (p) => (p.top += 1) },
  { keys: ['up', 'k'], help: 'scroll to newer events', run: (p) => (p.top = Math.max(0, p.top - 1)) },
  { keys: ['pagedown', 'C-f'], help: 'page to older events', run: (p) => (p.top += 20) },
  { keys: ['pageup', 'C-b'], help: 'page to newer events', run: (p) => (p.top = Math.max(0, p.top - 20)) },
  { keys: ['g'], help: 'back to the newest event', run: (p) => (p.top = 0) },
  { keys: ['c'], help: 'clear the filter', run: (p) => (p.filter = '') },
  { keys: ['x'], help: 'export the whole log as JSON lines to a file (:events export FILE)', hint: 'export', run: (p) => p.host.prompt('export events to file: ', '', (f) => exportEventsTo(p.host, p.log, f)) },
  { keys: ['L'], help: 'close the event log', run: (p) => p.close() },
];

/**
 * Write the session's log, oldest first, one JSON object a line. An existing file
 * is never overwritten (a second export must not lose the first); the error says so.
 */
export function exportEvents(log: EventLog, file: string, cwd = process.cwd()): { path: string; count: number } {
  const f = file.trim();
  if (!f) throw new Error('export events: give a file name (:events export FILE)');
  const path = f === '~' || f.startsWith('~/') ? resolve(homedir(), f.slice(2)) : resolve(cwd, f);
  try {
    writeFileSync(path, log.jsonLines(), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Error(`export events: ${path} exists; give a new file name (nothing was overwritten)`, { cause: e });
    if (code === 'ENOENT') throw new Error(`export events: no folder for ${path}`, { cause: e });
    throw new Error(`export events to ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return { path, count: log.size };
}

function exportEventsTo(h: AppHost, log: EventLog, file: string): void {
  try {
    const r = exportEvents(log, file);
    h.say(`exported ${r.count} events to ${r.path}`);
  } catch (e) {
    h.say(e instanceof Error ? e.message : String(e), true);
  }
}

/** `:events [WORDS]` opens the log filtered; `:events export FILE` writes it as JSON lines. */
export function eventsCommand(h: AppHost, arg: string, open: (filter: string) => void): void {
  const m = /^export(?:\s+(.*))?$/.exec(arg.trim());
  if (m) return exportEventsTo(h, h.events, m[1] ?? '');
  open(arg);
}

export class EventsPage extends BoundPage {
  readonly id = 'events';
  readonly title = 'Events';
  filter = '';
  top = 0;
  constructor(
    host: AppHost,
    readonly log: EventLog,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return EVENTS;
  }
  watches(): number {
    return 10;
  }
  askFilter(): void {
    this.host.prompt('filter events: ', this.filter, (t) => (this.filter = t.trim()), {
      change: (t) => {
        this.filter = t.trim();
        this.top = 0;
        this.host.markDirty();
      },
    });
  }
  lines(width: number, height: number): string[] {
    const t = this.host.theme;
    const rows = height - 1;
    const all = this.log.newest(this.filter, this.top + rows);
    const top = Math.min(this.top, Math.max(0, all.length - 1));
    const head = `${t.head('Events')}  ${this.log.size} in this session${this.filter ? `, filter: ${escapeTags(this.filter)} (${all.length}${all.length >= this.top + rows ? '+' : ''} shown)` : ''}  newest first`;
    const out = [head];
    if (all.length === 0) out.push(t.dim(this.filter ? 'no event matches the filter' : 'no events yet'));
    for (const e of all.slice(top, top + rows)) out.push(eventRow(e, width, t));
    return out;
  }
}

function colour(e: LoggedEvent, t: Theme, s: string): string {
  if (e.kind === 'failed' || e.kind === 'down' || e.kind === 'declined' || e.kind.startsWith('hostkey') || e.kind === 'misbehaved') return t.bad(s);
  if (e.source === 'level2' || e.source === 'balancer') return t.warn(s);
  if (e.kind === 'completed' || e.kind === 'up' || e.kind === 'taken') return t.ok(s);
  return s;
}

/** `HH:MM:SS node source/kind vm detail`, cut to the width. */
export function eventRow(e: LoggedEvent, width: number, t: Theme): string {
  const time = new Date(e.at).toISOString().slice(11, 19);
  const text = `${time} ${eventLine(e)}`;
  const cut = text.length > width ? text.slice(0, Math.max(0, width - 1)) + '…' : text;
  return colour(e, t, escapeTags(cut));
}
