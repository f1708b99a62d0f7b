/**
 * The `balance` lease that automatic level-2 balancing holds on every agent of a
 * cluster, so two dashboards (or two `vem balance apply --auto`) never plan moves
 * at once. All or nothing: a balancer that cannot take it on every reachable agent
 * gives back what it took and moves nothing, and says who holds it. The agents
 * keep the leases (src/agent/lease.ts); a holder that dies stops renewing and its
 * lease runs out after its TTL.
 */
import { hostname, userInfo } from 'node:os';
import { client, type Caller } from '../api/client.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';

export const BALANCE_SCOPE = 'balance';
/** Fault codes of src/agent/lease.ts: held by someone else; no such lease (expired or released). */
const LEASE_HELD = 1011;
const NO_SUCH_LEASE = 1003;

/** What the lease needs of a node's link: a name, one call, and (when the link knows it) its state. */
export interface LeaseLink extends Caller {
  readonly name: string;
  readonly state?: string;
}

/** Who holds the lease where we were refused. */
export interface LeaseHolder {
  node: string;
  holder: string;
  op: string;
  /** ms since the epoch; undefined when the agent refused without saying. */
  since?: number;
  /** The agent's own words. */
  message: string;
}

export type LeaseOutcome =
  | { ok: true; nodes: string[]; skipped: Array<{ node: string; why: string }> }
  | { ok: false; refused: LeaseHolder; skipped: Array<{ node: string; why: string }> };

/** `user@host:tool:pid`: a holder string that tells two admins, two machines and two processes apart. */
export function whoAmI(tool: string): string {
  let user = process.env['USER'] ?? '';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep $USER.
  }
  return `${user || 'unknown'}@${hostname()}:${tool}:${process.pid}`;
}

/** "alice@ws1:vem tui:4242 (level-2 balancing) since 08:12:03Z", for messages. */
export function describeHolder(h: LeaseHolder): string {
  const since = h.since !== undefined ? ` since ${new Date(h.since).toISOString().slice(11, 19)}Z` : '';
  return h.holder ? `${h.holder} (${h.op})${since}` : h.message;
}

/** Links a link state says are not worth a call this round. */
function unreachableState(s: string | undefined): boolean {
  return s !== undefined && s !== 'up' && s !== 'connecting';
}

export interface BalanceLeaseOptions {
  holder: string;
  /** What the holder does, shown to whoever is refused. */
  op?: string;
  /** Seconds the agents keep it without a renewal (1..3600). */
  ttlSec: number;
}

export class BalanceLease {
  readonly holder: string;
  readonly op: string;
  ttlSec: number;
  /** Node -> token, for the agents that granted it. */
  private readonly tokens = new Map<string, string>();
  private renewer: NodeJS.Timeout | undefined;

  constructor(
    private readonly links: () => Iterable<LeaseLink>,
    o: BalanceLeaseOptions,
  ) {
    this.holder = o.holder;
    this.op = o.op ?? 'level-2 balancing';
    this.ttlSec = o.ttlSec;
  }

  private ttl(): number {
    return Math.max(1, Math.min(3600, Math.ceil(this.ttlSec)));
  }

  /** The nodes whose agents granted it (as of the last acquire or renew). */
  held(): string[] {
    return [...this.tokens.keys()];
  }

  /**
   * Takes (or renews) the lease on every reachable agent. If one refuses, the
   * ones taken are given back and the refusal names its holder; an agent that
   * cannot be reached is skipped (it is out of the plan too) and said so.
   */
  async acquire(): Promise<LeaseOutcome> {
    const skipped: Array<{ node: string; why: string }> = [];
    const got: string[] = [];
    for (const l of this.links()) {
      if (unreachableState(l.state)) {
        this.tokens.delete(l.name);
        skipped.push({ node: l.name, why: `link ${l.state ?? ''}` });
        continue;
      }
      const agent = client(l);
      try {
        // The same holder asking again renews it (and the token stays the same).
        const lease = await agent.lease.acquire(BALANCE_SCOPE, this.holder, this.op, this.ttl());
        if (lease.token) this.tokens.set(l.name, lease.token);
        got.push(l.name);
      } catch (e) {
        if (!(e instanceof XmlRpcFault)) {
          this.tokens.delete(l.name);
          skipped.push({ node: l.name, why: e instanceof Error ? e.message : String(e) });
          continue;
        }
        const refused = await this.whoHolds(l, e);
        await this.release();
        return { ok: false, refused, skipped };
      }
    }
    // Nodes gone from the cluster keep no token.
    for (const n of this.held()) if (!got.includes(n)) this.tokens.delete(n);
    return { ok: true, nodes: got, skipped };
  }

  /** Who holds it on `l`, from leases.list (the refusal's words when the list cannot say). */
  private async whoHolds(l: LeaseLink, e: XmlRpcFault): Promise<LeaseHolder> {
    const base = { node: l.name, holder: '', op: '', message: e.code === LEASE_HELD ? e.message : `agent refused lease.acquire: ${e.message} (fault ${e.code})` };
    if (e.code !== LEASE_HELD) return base;
    try {
      const cur = (await client(l).lease.list()).find((x) => x.scope === BALANCE_SCOPE);
      return cur ? { ...base, holder: cur.holder, op: cur.op, since: cur.since } : base;
    } catch {
      return base;
    }
  }

  /** Renews where it is held; a lease that ran out is taken again (all or nothing, as acquire). */
  async renew(): Promise<LeaseOutcome> {
    const byName = new Map([...this.links()].map((l) => [l.name, l]));
    for (const [node, token] of [...this.tokens]) {
      const l = byName.get(node);
      if (!l) continue;
      try {
        await client(l).lease.renew(token, this.ttl());
      } catch (e) {
        if (e instanceof XmlRpcFault && e.code === NO_SUCH_LEASE) this.tokens.delete(node);
      }
    }
    return this.acquire();
  }

  /** Renews every `everyMs` until release; `lost` hears of a renewal that found it held by another. */
  keepRenewing(everyMs: number, lost: (o: LeaseOutcome & { ok: false }) => void): void {
    this.stopRenewing();
    this.renewer = setInterval(() => {
      void this.renew().then((o) => {
        if (!o.ok) lost(o);
      });
    }, everyMs);
    this.renewer.unref();
  }

  private stopRenewing(): void {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = undefined;
  }

  /** Gives it back everywhere it is held; an agent that cannot be reached lets it run out. */
  async release(): Promise<void> {
    this.stopRenewing();
    const byName = new Map([...this.links()].map((l) => [l.name, l]));
    const held = [...this.tokens];
    this.tokens.clear();
    await Promise.allSettled(held.map(([node, token]) => {
      const l = byName.get(node);
      return l ? client(l).lease.release(token) : Promise.resolve(true);
    }));
  }
}
