/**
 * The event sequence the front end long-polls: libvirt domain events and the
 * agent's own changes (jobs, redefinitions, libvirt up/down), each with a
 * sequence number. Bounded: the oldest events fall off and a reader whose
 * cursor is older is told it missed some.
 */
import type { XmlRpcStruct, XmlRpcValue } from '../common/xmlrpc/value.js';

export interface AgentEvent {
  seq: number;
  /** ms since the epoch */
  at: number;
  /** 'domain' (from libvirt), 'job', 'vm' (agent-side change), 'libvirt' (up/down) */
  source: string;
  kind: string;
  vm?: string;
  detail: XmlRpcStruct;
}

export interface PollResult {
  cursor: number;
  events: AgentEvent[];
  /** True when events between the given cursor and the oldest kept one were dropped. */
  missed: boolean;
}

export class EventLog {
  private readonly buf: AgentEvent[] = [];
  private seq = 0;
  private waiters = new Set<() => void>();

  constructor(private readonly capacity = 10_000) {}

  get cursor(): number {
    return this.seq;
  }

  push(source: string, kind: string, vm: string | undefined, detail: XmlRpcStruct = {}): AgentEvent {
    const e: AgentEvent = { seq: ++this.seq, at: Date.now(), source, kind, detail };
    if (vm !== undefined) e.vm = vm;
    this.buf.push(e);
    if (this.buf.length > this.capacity) this.buf.splice(0, this.buf.length - this.capacity);
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
    return e;
  }

  /** Events after `cursor` now (limit per answer). */
  since(cursor: number, limit = 1000): PollResult {
    const first = this.buf[0];
    const missed = first !== undefined && cursor < first.seq - 1;
    // seqs are consecutive, so the start index is arithmetic
    const start = first === undefined ? 0 : Math.max(0, cursor - first.seq + 1);
    const events = this.buf.slice(start, start + limit);
    const last = events[events.length - 1];
    return { cursor: last ? last.seq : Math.max(Math.min(cursor, this.seq), 0), events, missed };
  }

  /**
   * Waits up to timeoutMs for events after cursor (returns at once when there are some).
   * `also` may end the wait early: it gets a function that ends it and returns its own undo.
   */
  async poll(cursor: number, timeoutMs: number, limit?: number, also?: (end: () => void) => () => void): Promise<PollResult> {
    if (cursor > this.seq) cursor = this.seq; // a cursor from before an agent restart
    const now = this.since(cursor, limit);
    if (now.events.length > 0 || timeoutMs <= 0) return now;
    await new Promise<void>((resolve) => {
      // `also` may end the wait before it has handed back its undo.
      const hook: { undo?: () => void; ended?: boolean } = {};
      const done = (): void => {
        hook.ended = true;
        clearTimeout(t);
        this.waiters.delete(done);
        hook.undo?.();
        resolve();
      };
      const t = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      hook.undo = also?.(done);
      if (hook.ended) hook.undo?.();
    });
    return this.since(cursor, limit);
  }

  /** Wakes every waiting poll (at shutdown). */
  wakeAll(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
  }
}

export function eventToValue(e: AgentEvent): XmlRpcValue {
  const v: XmlRpcStruct = { seq: e.seq, at: e.at, source: e.source, kind: e.kind, detail: e.detail };
  if (e.vm !== undefined) v.vm = e.vm;
  return v;
}
