/**
 * One poller per node: periodic refresh (node.stats, vm.stats with cursors;
 * vm.list when events say something changed, and every few ticks anyway) plus an
 * events.poll long-poll so state changes show at once. A refresh that comes due
 * while the previous one still runs is dropped, never queued.
 */
import { client, type Client } from '../../api/client.js';
import type { Link } from './link.js';
import type { ClusterStore } from './store.js';
import { decodeEvents, decodeNodeInfo, decodeNodeStats, decodeVmList, decodeVmStats } from './decode.js';
import { HISTORY_POINTS } from './model.js';

export interface PollerOptions {
  refreshMs?: number;
  /** Re-read node.info every this many ticks (libvirt may come and go under the agent). */
  infoEvery?: number;
  listEvery?: number;
  longPollMs?: number;
  /** Stop collecting metrics after the first complete refresh (deterministic screenshots). */
  frozen?: boolean;
  /**
   * Every how many ticks this node's VM figures are needed now: 1 when they are on
   * screen, a few when they only feed a ranking (sorted by a metric, wall mode),
   * `listEvery` otherwise (default 1).
   */
  watched?: () => number;
  /** Whether the node's own row or charts are on screen; otherwise node.stats every `listEvery` ticks (the cursor still brings every sample). */
  nodeWatched?: () => boolean;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class NodePoller {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private closed = false;
  private ticks = 0;
  private needList = true;
  private needInfo = true;
  private nodeCursor = 0;
  private eventCursor: number | undefined;
  /** The agent's API over this node's link. */
  private readonly agent: Client;
  private completed = 0;
  /** Refreshes skipped because the previous one was still running (for the bench and the status view). */
  dropped = 0;
  readonly o: Required<Omit<PollerOptions, 'watched' | 'nodeWatched'>> & Pick<PollerOptions, 'watched' | 'nodeWatched'>;

  constructor(readonly link: Link, readonly store: ClusterStore, o: PollerOptions = {}) {
    this.agent = client(link);
    this.o = { refreshMs: 1000, infoEvery: 30, listEvery: 10, longPollMs: 20000, frozen: false, ...o };
    store.addNode(link.name, link.state);
    link.on('state', (s, detail) => {
      store.setLink(link.name, s, detail);
      if (s === 'up') {
        this.needInfo = true;
        this.needList = true;
        void this.refresh();
      }
    });
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.refreshMs);
    void this.eventLoop();
  }

  /** Ask for the VM list now (after a command, an event); if a refresh is running, the next tick does it. */
  invalidate(now = true): void {
    this.needList = true;
    if (now) void this.refresh();
  }

  async refresh(): Promise<void> {
    if (this.closed) return;
    if (this.inFlight) {
      this.dropped++;
      return;
    }
    if (this.o.frozen && this.completed > 0 && !this.needList) return;
    if (this.link.state !== 'up' && this.link.state !== 'connecting' && this.completed > 0) this.needInfo = true;
    this.inFlight = true;
    const name = this.link.name;
    try {
      this.ticks++;
      if (this.needInfo || this.ticks % this.o.infoEvery === 0) {
        this.store.setHost(name, decodeNodeInfo(await this.agent.node.info()));
        this.needInfo = false;
      }
      // vm.list is served from the agent's last collection (no libvirt call) and
      // carries every VM's latest figures, so one call per tick feeds the table and
      // the sparklines; vm.stats is only read for one VM's full history (backfill).
      const metrics = !(this.o.frozen && this.completed > 0) && (this.completed === 0 || (this.o.nodeWatched?.() ?? true) || this.ticks % this.o.listEvery === 0);
      const full = this.needList || this.ticks % this.o.listEvery === 0;
      const period = Math.max(1, this.o.watched?.() ?? 1);
      const watched = this.ticks % period === 0;
      this.needList = false;
      // Every tick for a watched node: its running VMs (stopped ones have no figures that move);
      // the whole list on events, after commands, and every few ticks.
      const listCall = full ? this.agent.vm.list() : watched ? this.agent.vm.list({ active: true, inactive: false }) : Promise.resolve(null);
      const [list, ns] = await Promise.all([listCall, metrics ? this.agent.node.stats(this.nodeCursor, this.o.frozen ? 1 : undefined) : Promise.resolve(null)]);
      if (list !== null && !this.store.setVmList(name, decodeVmList(list), !(this.o.frozen && this.completed > 0), !full)) this.needList = true;
      if (ns !== null) {
        const page = decodeNodeStats(ns);
        this.nodeCursor = page.cursor;
        // The first page is the agent's whole window: keep only what the charts show.
        this.store.addNodeSamples(name, page.samples.slice(-HISTORY_POINTS));
      }
      this.completed++;
      this.store.setNodeError(name, undefined);
    } catch (e) {
      this.needList = true;
      this.store.setNodeError(name, message(e));
    } finally {
      this.inFlight = false;
    }
  }

  /** One VM's kept history (for its charts when its detail view opens). */
  async backfill(vm: string): Promise<void> {
    if (this.o.frozen) return; // the kept history grows with time: not for stable captures
    try {
      const page = decodeVmStats(await this.agent.vm.stats(vm, 0, HISTORY_POINTS));
      this.store.backfillVm(`${this.link.name}/${vm}`, page.samples);
    } catch {
      /* the live samples keep coming; a missing history is not an error worth a status line */
    }
  }

  private async eventLoop(): Promise<void> {
    while (!this.closed) {
      if (this.link.state !== 'up' || this.o.frozen) {
        await sleep(500);
        continue;
      }
      try {
        const r = decodeEvents(await this.agent.events.poll(this.eventCursor ?? 0, this.o.longPollMs));
        const first = this.eventCursor === undefined;
        this.eventCursor = r.cursor;
        if (!first && r.events.length > 0) this.invalidate();
      } catch {
        if (!this.closed) await sleep(1000);
      }
    }
  }

  stop(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
