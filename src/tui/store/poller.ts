/**
 * One poller per node: periodic refresh (node.stats, vm.stats with cursors;
 * vm.list when events say something changed, and every few ticks anyway) plus an
 * events.poll long-poll so state changes show at once. A refresh that comes due
 * while the previous one still runs is dropped, never queued.
 */
import type { Link, XmlRpcValue } from './link.js';
import type { ClusterStore } from './store.js';
import { decodeEvents, decodeNodeInfo, decodeNodeStats, decodeVmList, decodeVmStats } from './decode.js';

export interface PollerOptions {
  refreshMs?: number;
  /** Re-read node.info every this many ticks (libvirt may come and go under the agent). */
  infoEvery?: number;
  listEvery?: number;
  longPollMs?: number;
  /** Stop collecting metrics after the first complete refresh (deterministic screenshots). */
  frozen?: boolean;
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
  private nodeCursor: XmlRpcValue = null;
  private vmCursor: XmlRpcValue = null;
  private eventCursor: XmlRpcValue = null;
  private completed = 0;
  /** Refreshes skipped because the previous one was still running (for the bench and the status view). */
  dropped = 0;
  readonly o: Required<PollerOptions>;

  constructor(readonly link: Link, readonly store: ClusterStore, o: PollerOptions = {}) {
    this.o = { refreshMs: 1000, infoEvery: 30, listEvery: 5, longPollMs: 20000, frozen: false, ...o };
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

  /** Ask for the VM list at the next refresh (after a command, an event). */
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
    this.inFlight = true;
    const name = this.link.name;
    try {
      this.ticks++;
      if (this.needInfo || this.ticks % this.o.infoEvery === 0) {
        this.store.setHost(name, decodeNodeInfo(await this.link.call('node.info')));
        this.needInfo = false;
      }
      const wantList = this.needList || this.ticks % this.o.listEvery === 0;
      this.needList = false;
      const [list, ns, vs] = await Promise.all([
        wantList ? this.link.call('vm.list') : Promise.resolve(null),
        this.o.frozen && this.completed > 0 ? Promise.resolve(null) : this.link.call('node.stats', ...this.cursorArg(this.nodeCursor)),
        this.o.frozen && this.completed > 0 ? Promise.resolve(null) : this.link.call('vm.stats', ...this.cursorArg(this.vmCursor)),
      ]);
      if (list !== null) this.store.setVmList(name, decodeVmList(list));
      if (ns !== null) {
        const page = decodeNodeStats(ns);
        this.nodeCursor = page.cursor;
        this.store.addNodeSamples(name, page.samples);
      }
      if (vs !== null) {
        const page = decodeVmStats(vs);
        this.vmCursor = page.cursor;
        this.store.addVmSamples(name, page.samples);
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

  private cursorArg(c: XmlRpcValue): XmlRpcValue[] {
    return c === null ? [] : [c];
  }

  private async eventLoop(): Promise<void> {
    while (!this.closed) {
      if (this.link.state !== 'up' || this.o.frozen) {
        await sleep(500);
        continue;
      }
      try {
        const r = decodeEvents(await this.link.call('events.poll', ...(this.eventCursor === null ? [0] : [this.eventCursor]), this.o.longPollMs));
        const first = this.eventCursor === null;
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
