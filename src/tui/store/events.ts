/**
 * The session's cluster event log (`:events`): every node's agent events as the
 * long-poll brings them (seeded with each agent's recent ones), plus what the
 * dashboard itself saw (links, balancer decisions). Newest first; capped so a
 * long session stays small.
 */
import type { AgentEvent } from '../../api/index.js';

export interface LoggedEvent {
  at: number;
  node: string;
  /** domain, vm, job, libvirt, balancer, guest, ... or link, level2 for the dashboard's own. */
  source: string;
  kind: string;
  vm?: string;
  text: string;
  /** An agent event's detail struct as it came (level-1 adjustments are read from it; exported as is). */
  detail?: Record<string, unknown>;
}

const CAP = 5000;

/** A struct's fields as `k=v` text (detail is data, never prose). */
export function detailText(d: Record<string, unknown>): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(d)) {
    if (v === undefined || v === null || v === '') continue;
    out.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return out.join(' ');
}

export class EventLog {
  /** Oldest first (appends are cheap); views read it backwards. */
  private readonly list: LoggedEvent[] = [];
  version = 0;

  /** One node's events from its agent (the poller's cursor never repeats one). */
  addAgent(node: string, events: readonly AgentEvent[]): void {
    for (const e of events) {
      this.add({ at: Number(e.at), node, source: e.source, kind: e.kind, ...(e.vm ? { vm: e.vm } : {}), text: detailText(e.detail), detail: e.detail });
    }
  }

  add(e: LoggedEvent): void {
    this.list.push(e);
    if (this.list.length > CAP) this.list.splice(0, this.list.length - CAP);
    this.version++;
  }

  get size(): number {
    return this.list.length;
  }

  /** Newest first, those matching `filter` (words, all must occur in the line), at most `limit`. */
  newest(filter = '', limit = Infinity): LoggedEvent[] {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
    const out: LoggedEvent[] = [];
    for (let i = this.list.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.list[i] as LoggedEvent;
      if (words.length > 0) {
        const line = eventLine(e).toLowerCase();
        if (!words.every((w) => line.includes(w))) continue;
      }
      out.push(e);
    }
    return out;
  }

  /** Newest first, those `pred` takes, at most `limit` (a view's own selection, e.g. one node's level-1 changes). */
  newestWhere(pred: (e: LoggedEvent) => boolean, limit: number): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    for (let i = this.list.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.list[i] as LoggedEvent;
      if (pred(e)) out.push(e);
    }
    return out;
  }

  /** The whole log as JSON lines, oldest first (export). */
  jsonLines(): string {
    return this.list.map((e) => JSON.stringify(e)).join('\n') + (this.list.length > 0 ? '\n' : '');
  }
}

/** One event as a line of text (without time): node source/kind vm text. */
export function eventLine(e: LoggedEvent): string {
  return `${e.node} ${e.source}/${e.kind}${e.vm ? ` ${e.vm}` : ''} ${e.text}`.trimEnd();
}
