/**
 * One poller per node: periodic refresh (vm.watch with the inventory version
 * held and what is shown; node.stats with a cursor) plus an
 * events.poll long-poll so state changes show at once. A refresh that comes due
 * while the previous one still runs is dropped, never queued.
 */
import { client, type Client } from '../../api/client.js';
import { api } from '../../api/index.js';
import { multicall, planned } from '../../api/multicall.js';
import { FaultCode, XmlRpcFault } from '../../common/xmlrpc/codec.js';
import type { Link } from './link.js';
import type { ClusterStore } from './store.js';
import type { AgentEvent, NodeStats, WatchAnswer, WatchView } from '../../api/index.js';
import { decodeEvents, decodeNodeInfo, decodeNodeStats, decodeVmStats, inventoryVm, liveSamples } from './decode.js';
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
  /** Every event the long-poll brings (the first answer seeds with the agent's recent ones); the :events log keeps them. */
  onEvents?: (events: readonly AgentEvent[]) => void;
  /** The table's sort key (cpu, mem, disk, net rank by a figure: each node then sends its top rows). */
  sort?: () => string;
  /** How many top rows a node sends for a ranking (the table's height is plenty; default 40). */
  topRows?: number;
}

/** The table's sort keys that rank by a live figure, as vm.watch names the column. */
const WATCH_SORT: Record<string, WatchView['sort']> = { cpu: 'cpuPct', mem: 'memPct', disk: 'diskBps', net: 'netBps' };

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
  /** The inventory version we hold of this node (vm.watch), the agent that gave it, and its VM keys. */
  private version = 0;
  private agentStart = 0;
  private readonly keys = new Map<number, string>();
  private eventCursor: number | undefined;
  /** The agent's API over this node's link. */
  private readonly agent: Client;
  private completed = 0;
  /** Whether this node's agent takes vm.watch and node.stats in one system.multicall (until it refuses one). */
  private multicall = true;
  /** Refreshes skipped because the previous one was still running (for the bench and the status view). */
  dropped = 0;
  readonly o: Required<Omit<PollerOptions, 'watched' | 'nodeWatched' | 'sort' | 'onEvents'>> & Pick<PollerOptions, 'watched' | 'nodeWatched' | 'sort' | 'onEvents'>;

  constructor(readonly link: Link, readonly store: ClusterStore, o: PollerOptions = {}) {
    this.agent = client(link);
    this.o = { refreshMs: 1000, infoEvery: 30, listEvery: 10, longPollMs: 20000, frozen: false, topRows: 40, ...o };
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
      // vm.watch is served from the agent's last collection (no libvirt call): the
      // inventory's changes since the version we hold, and figures only for what is
      // shown (a node on screen: its VMs; a ranking: the node's top rows by the
      // column), packed. A tick's cost follows the screen and the nodes, not the VMs.
      const metrics = !(this.o.frozen && this.completed > 0) && (this.completed === 0 || (this.o.nodeWatched?.() ?? true) || this.ticks % this.o.listEvery === 0);
      const period = Math.max(1, this.o.watched?.() ?? 1);
      const due = this.needList || this.ticks % period === 0 || this.ticks % this.o.listEvery === 0;
      this.needList = false;
      const [w, ns] = await this.watchAndStats(due, metrics, period);
      if (w !== null) this.apply(w);
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

  /** vm.watch and node.stats, each when due; both in one request (system.multicall) when both are. */
  private async watchAndStats(due: boolean, metrics: boolean, period: number): Promise<[WatchAnswer | null, NodeStats | null]> {
    const limit = this.o.frozen ? 1 : undefined;
    if (due && metrics && this.multicall) {
      const view = this.view(period);
      try {
        return await multicall(this.link, planned(api.vm.watch, this.version, view), planned(api.node.stats, this.nodeCursor, limit));
      } catch (e) {
        // An agent without multicall (or one that refuses it) gets the two calls; a fault of one inner call is that call's own.
        if (!(e instanceof XmlRpcFault) || (e.code !== FaultCode.METHOD_NOT_FOUND && !/multicall/i.test(e.message))) throw e;
        this.multicall = false;
      }
    }
    return Promise.all([due ? this.agent.vm.watch(this.version, this.view(period)) : Promise.resolve(null), metrics ? this.agent.node.stats(this.nodeCursor, limit) : Promise.resolve(null)]);
  }

  /** What this node shows now, as vm.watch's view. */
  private view(period: number): WatchView {
    if (this.o.frozen) return this.completed === 0 ? { all: true } : {};
    const sort = WATCH_SORT[this.o.sort?.() ?? ''];
    if (this.completed === 0) return { all: true };
    // A metric ranking: the node's top rows (its rows on screen are among them); else a node on screen: all its VMs.
    if (sort && period <= 2) return { sort, top: this.o.topRows };
    if (period === 1) return { all: true };
    return {};
  }

  private apply(w: WatchAnswer): void {
    const name = this.link.name;
    if (w.agentStart !== this.agentStart && !w.full) {
      // Another agent answers (it restarted): our version means nothing to it.
      this.agentStart = w.agentStart;
      this.version = 0;
      this.needList = true;
      return;
    }
    this.agentStart = w.agentStart;
    if (w.full) this.keys.clear();
    for (const i of w.added) this.keys.set(i.key, i.name);
    for (const i of w.changed) this.keys.set(i.key, i.name);
    const upserts = [...w.added, ...w.changed].map(inventoryVm);
    let complete = true;
    if (w.full) complete = this.store.setVmList(name, upserts, false);
    else if (upserts.length > 0 || w.removed.length > 0) complete = this.store.applyVmChanges(name, upserts, w.removed);
    // A VM kept on screen by a migration left our version behind: the whole inventory again next tick, until it is released.
    this.version = complete ? w.version : 0;
    if (!complete) this.needList = true;
    const samples = liveSamples(w, this.keys);
    if (samples.length > 0) this.store.setVmFigures(name, samples, w.seenAt);
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
        if (r.events.length > 0) this.o.onEvents?.(r.events);
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
