/**
 * One poller per node: periodic refresh (vm.watch with the inventory version
 * held and what is shown; node.stats with a cursor; node.info now and then), each
 * tick one request (system.multicall), plus an events.poll long-poll so state
 * changes show at once. Many nodes' ticks are spread over the refresh period and
 * over the ticks (each node's place from its name), so 200 or 500 nodes do not all
 * come due in one instant. A node that is off screen (neither its VMs nor its row
 * shown) is asked once every `infoEvery` ticks, everything in that one request,
 * its events included (no long-poll of its own) unless `liveEvents` says the
 * events are shown. A refresh that comes due while the previous one still runs is
 * dropped, never queued.
 */
import { client, type Client } from '../../api/client.js';
import { api } from '../../api/index.js';
import { multicall, planned, type Planned } from '../../api/multicall.js';
import type { AnyMethod } from '../../api/method.js';
import { FaultCode, XmlRpcFault } from '../../common/xmlrpc/codec.js';
import type { Link } from './link.js';
import type { ClusterStore } from './store.js';
import type { AgentEvent, EventsPage, NodeInfo, NodeStats, RankWake, WatchAnswer, WatchView } from '../../api/index.js';
import { decodeEvents, decodeNodeInfo, decodeNodeStats, decodeVmStats, inventoryVm, liveSamples } from './decode.js';
import { HISTORY_POINTS, type VmRecord } from './model.js';
import { rankWake } from './rank-wake.js';

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
  /**
   * How many a node sends while none of its VMs is on screen (default 10): enough to
   * see one climb onto the screen, after which the node is on screen and sends topRows.
   */
  rankRows?: number;
  /**
   * This node's place among many (default: a number from its name): its ticks start
   * that share of a refresh period late (phase % 1000 thousandths) and its
   * every-N-ticks work falls on ticks where (tick + phase) % N is 0. 0: none.
   */
  phase?: number;
  /** Whether every node's events are wanted as they come (the events log is shown): then an off-screen node keeps its long-poll. */
  liveEvents?: () => boolean;
  /**
   * The last row on screen of a table sorted by `sort` that this node's VMs could climb
   * into, while none of its rows is shown (undefined otherwise). The node then keeps its
   * long-poll, which the agent answers early once one of its VMs passes that row's figure;
   * the node's top rows are asked then, and every `watched()` ticks besides.
   */
  rankMark?: () => VmRecord | undefined;
}

/** The table's sort keys that rank by a live figure, as vm.watch names the column. */
const WATCH_SORT: Record<string, WatchView['sort']> = { cpu: 'cpuPct', mem: 'memPct', disk: 'diskBps', net: 'netBps' };

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** FNV-1a of a node's name, mixed: its default phase. */
function phaseOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ (h >>> 12)) >>> 0;
}

type Answers = { info: NodeInfo | null; watch: WatchAnswer | null; stats: NodeStats | null; events: EventsPage | null };

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
  /** Who reads events now: the long-poll, or a tick's request (one at a time, so none is read twice). */
  private longPolling = false;
  private eventsInTick = false;
  /** Whether the agent takes a rank wake with its long-poll (until one refuses the third argument: an older agent). */
  private rankWakes = true;
  /** Resolved when the running (or next) refresh ends. */
  private refreshed: Array<() => void> = [];
  /** The event loop waiting for a tick to find the node's events wanted live again. */
  private wake: (() => void) | undefined;
  readonly o: Required<Omit<PollerOptions, 'watched' | 'nodeWatched' | 'sort' | 'onEvents' | 'liveEvents' | 'rankMark'>> & Pick<PollerOptions, 'watched' | 'nodeWatched' | 'sort' | 'onEvents' | 'liveEvents' | 'rankMark'>;

  constructor(readonly link: Link, readonly store: ClusterStore, o: PollerOptions = {}) {
    this.agent = client(link);
    this.o = { refreshMs: 1000, infoEvery: 30, listEvery: 10, longPollMs: 20000, frozen: false, topRows: 40, rankRows: 10, phase: phaseOf(link.name), ...o };
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
    // The first answer at once; then ticks at this node's place in the period.
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => void this.refresh(), this.o.refreshMs);
      void this.refresh();
    }, ((this.o.phase % 1000) / 1000) * this.o.refreshMs);
    void this.eventLoop();
  }

  /** Neither the node's VMs (a period of listEvery or more) nor its own row or charts are on screen, and no ranking waits on it. */
  private offScreen(period: number): boolean {
    return this.completed > 0 && period >= this.o.listEvery && !(this.o.nodeWatched?.() ?? true) && this.wakeFor() === undefined;
  }

  /** What the long-poll waits for besides events: a VM of this node passing the sorted screen's last row. */
  private wakeFor(): RankWake | undefined {
    const sort = WATCH_SORT[this.o.sort?.() ?? ''];
    const mark = sort && this.rankWakes && !this.o.frozen ? this.o.rankMark?.() : undefined;
    return sort && mark ? rankWake(sort, mark, this.store.vmsOf(this.link.name)) : undefined;
  }

  /** Whether the long-poll should run: the node is on screen, or the events log wants every node's events live. */
  private eventsLive(): boolean {
    return (this.o.liveEvents?.() ?? false) || !this.offScreen(Math.max(1, this.o.watched?.() ?? 1));
  }

  /** Ask for the VM list now (after a command, an event); if a refresh is running, the next tick does it. */
  invalidate(now = true): void {
    this.needList = true;
    if (now) void this.refresh();
  }

  async refresh(): Promise<void> {
    if (this.closed) return;
    if (this.wake && !this.eventsInTick && this.eventsLive()) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
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
      const slot = this.ticks + this.o.phase;
      const period = Math.max(1, this.o.watched?.() ?? 1);
      const off = this.offScreen(period);
      const info = this.needInfo || slot % this.o.infoEvery === 0;
      // vm.watch is served from the agent's last collection (no libvirt call): the
      // inventory's changes since the version we hold, and figures only for what is
      // shown (a node on screen: its VMs; a ranking: the node's top rows by the
      // column), packed. A tick's cost follows the screen and the nodes, not the VMs.
      // Off screen: everything with node.info, every infoEvery ticks (the cursor still brings every sample).
      const metrics = !(this.o.frozen && this.completed > 0) && (off ? slot % this.o.infoEvery === 0 : this.completed === 0 || (this.o.nodeWatched?.() ?? true) || slot % this.o.listEvery === 0);
      const due = this.needList || (off ? slot % this.o.infoEvery === 0 : slot % period === 0 || slot % this.o.listEvery === 0);
      const events = off && !this.o.frozen && this.link.state === 'up' && (due || metrics || info) && !this.longPolling && !this.eventsLive();
      this.needList = false;
      if (events) this.eventsInTick = true;
      let a: Answers;
      try {
        a = await this.request(info, due, metrics, events, period);
      } finally {
        this.eventsInTick = false;
      }
      if (a.events !== null) this.gotEvents(a.events, false);
      if (a.info !== null) {
        this.store.setHost(name, decodeNodeInfo(a.info));
        this.needInfo = false;
      }
      if (a.watch !== null) this.apply(a.watch);
      if (a.stats !== null) {
        const page = decodeNodeStats(a.stats);
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
      const r = this.refreshed;
      this.refreshed = [];
      for (const f of r) f();
    }
  }

  /** What is due this tick, in one request (system.multicall) when more than one call is; each alone to an agent without multicall. */
  private async request(info: boolean, due: boolean, metrics: boolean, events: boolean, period: number): Promise<Answers> {
    const limit = this.o.frozen ? 1 : undefined;
    const a = this.agent;
    const calls: Array<{ key: keyof Answers; plan: Planned<AnyMethod>; alone: () => Promise<unknown> }> = [];
    const cursor = this.eventCursor ?? 0;
    // Events first: the inventory read after them has what they announce (when the agent's rows have it).
    if (events) calls.push({ key: 'events', plan: planned(api.events.poll, cursor, 0), alone: () => a.events.poll(cursor, 0) });
    if (info) calls.push({ key: 'info', plan: planned(api.node.info), alone: () => a.node.info() });
    if (due) {
      const view = this.view(period);
      calls.push({ key: 'watch', plan: planned(api.vm.watch, this.version, view), alone: () => a.vm.watch(this.version, view) });
    }
    if (metrics) calls.push({ key: 'stats', plan: planned(api.node.stats, this.nodeCursor, limit), alone: () => a.node.stats(this.nodeCursor, limit) });
    let results: readonly unknown[] | undefined;
    if (calls.length > 1 && this.multicall) {
      try {
        results = await multicall(this.link, ...calls.map((c) => c.plan));
      } catch (e) {
        // An agent without multicall (or one that refuses it) gets the calls one by one; a fault of one inner call is that call's own.
        if (!(e instanceof XmlRpcFault) || (e.code !== FaultCode.METHOD_NOT_FOUND && !/multicall/i.test(e.message))) throw e;
        this.multicall = false;
      }
    }
    results ??= await Promise.all(calls.map((c) => c.alone()));
    const out: Answers = { info: null, watch: null, stats: null, events: null };
    calls.forEach((c, i) => ((out as Record<keyof Answers, unknown>)[c.key] = results[i]));
    return out;
  }

  /** What this node shows now, as vm.watch's view. */
  private view(period: number): WatchView {
    if (this.o.frozen) return this.completed === 0 ? { all: true } : {};
    const sort = WATCH_SORT[this.o.sort?.() ?? ''];
    if (this.completed === 0) return { all: true };
    // A metric ranking: the node's top rows (its rows on screen are among them), fewer while none is on screen; else a node on screen: all its VMs.
    if (sort && period === 1) return { sort, top: this.o.topRows };
    if (sort && (period === 2 || this.wakeFor() !== undefined)) return { sort, top: Math.min(this.o.topRows, this.o.rankRows) };
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

  /** An events page, from the long-poll (`live`: what it announces just happened, so look now) or a tick's request. */
  private gotEvents(p: EventsPage, live: boolean): void {
    const r = decodeEvents(p);
    const first = this.eventCursor === undefined;
    this.eventCursor = r.cursor;
    if (r.events.length > 0) this.o.onEvents?.(r.events);
    // From a tick: the same request's inventory may predate them; the next tick looks again.
    if (!first && r.events.length > 0) this.invalidate(live);
  }

  private async eventLoop(): Promise<void> {
    while (!this.closed) {
      if (this.link.state !== 'up' || this.o.frozen || this.eventsInTick || !this.eventsLive()) {
        // Until a tick finds the node's events wanted live again (its requests carry them meanwhile).
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      this.longPolling = true;
      const wake = this.wakeFor();
      try {
        const page = await this.agent.events.poll(this.eventCursor ?? 0, this.o.longPollMs, wake);
        this.gotEvents(page, true);
        if (page.ranked) {
          // A VM climbed past the screen's last row: its figures now, and the next wait from them (else the agent answers at once again).
          this.needList = true;
          const done = new Promise<void>((r) => this.refreshed.push(r));
          void this.refresh();
          await Promise.race([done, sleep(this.o.refreshMs * 2)]);
        }
      } catch (e) {
        // An older agent takes two arguments: long-poll without the wake from now on.
        if (wake && e instanceof XmlRpcFault && e.code === FaultCode.INVALID_PARAMS) this.rankWakes = false;
        else if (!this.closed) await sleep(1000);
      } finally {
        this.longPolling = false;
      }
    }
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.wake?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
