/**
 * Level 1 per node as the dashboard sees it: whether it is on and its settings
 * (balancer.level1.status, read when the node view opens and every few seconds
 * while it shows), and switching it on and off (balancer.level1.enable/disable,
 * which the agent records in its audit log). The adjustments themselves are
 * agent events (balancer/level1) and are read from the session's event log.
 */
import { invoke } from '../../api/client.js';
import { api, type Level1Status } from '../../api/index.js';
import type { Link } from './link.js';
import type { EventLog, LoggedEvent } from './events.js';

export interface Level1Seen {
  status?: Level1Status;
  /** Why the last read failed (an older agent, a link down), for the view to say. */
  error?: string;
  at: number;
}

/** One adjustment as the node view lists it (from a balancer/level1 event). */
export interface Level1Change {
  at: number;
  vm: string;
  what: string;
  before?: number;
  after: number;
  reason: string;
}

function errText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 160);
}

export class Level1Center {
  private readonly seen = new Map<string, Level1Seen>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly link: (node: string) => Link | undefined,
    private readonly changed: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  get(node: string): Level1Seen | undefined {
    return this.seen.get(node);
  }

  /** Read the node's level-1 status; one read per node at a time. */
  async refresh(node: string): Promise<void> {
    const l = this.link(node);
    if (!l || this.busy.has(node)) return;
    this.busy.add(node);
    try {
      const status = await invoke(l, api.balancer.level1Status, []);
      this.seen.set(node, { status, at: this.now() });
    } catch (e) {
      this.seen.set(node, { ...this.seen.get(node), error: errText(e), at: this.now() });
    } finally {
      this.busy.delete(node);
      this.changed();
    }
  }

  /** Switch level 1 on (with the agent's current settings) or off; resolves with what the agent says. */
  async setEnabled(node: string, on: boolean): Promise<Level1Status> {
    const l = this.link(node);
    if (!l) throw new Error(`no link to node ${node}`);
    const status = on ? await invoke(l, api.balancer.level1Enable, [undefined]) : await invoke(l, api.balancer.level1Disable, []);
    this.seen.set(node, { status, at: this.now() });
    this.changed();
    return status;
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The node's level-1 adjustments in the log, newest first (the agent's balancer/level1 events). */
export function level1Changes(log: EventLog, node: string, limit: number): Level1Change[] {
  const out: Level1Change[] = [];
  for (const e of log.newestWhere((x: LoggedEvent) => x.node === node && x.source === 'balancer' && x.kind === 'level1', limit)) {
    const d = e.detail ?? {};
    const after = num(d['after']);
    if (after === undefined || !e.vm) continue;
    const before = num(d['before']);
    out.push({ at: e.at, vm: e.vm, what: String(d['what'] ?? '?'), ...(before !== undefined ? { before } : {}), after, reason: String(d['reason'] ?? '') });
  }
  return out;
}
