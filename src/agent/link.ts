/**
 * The agent's hold on libvirt: every call gets a timeout (a hung daemon must
 * not hang the agent), a lost connection marks libvirt down, and when the
 * agent was given a way to connect it reconnects with backoff. The agent
 * itself stays up throughout and reports the state in node.info.
 */
import type { Hypervisor } from '../libvirt/hypervisor.js';
import { CallTimeoutError, ConnectionClosedError } from '../libvirt/errors.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';

/** Fault codes of the agent itself (libvirt's own error codes stay below 1000). */
export const AgentFault = {
  LIBVIRT_DOWN: 1001,
  LIBVIRT_TIMEOUT: 1002,
  NOT_FOUND: 1003,
  BAD_ARGUMENT: 1004,
} as const;

export interface LinkStatus {
  up: boolean;
  since: number;
  reason?: string;
  attempts: number;
  nextRetryAt?: number;
}

export interface LinkOptions {
  callTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onUp?(hv: Hypervisor): void | Promise<void>;
  onDown?(reason: string): void;
}

// The Hypervisor calls that get a timeout; the rest (migrate, openConsole, onDomainEvent, close and
// anything an implementation adds, like the simulator's guest()) pass through untouched.
const TIMED_CALLS = new Set([
  'hostInfo', 'capabilities', 'nodeStats', 'listDomains', 'domainInfo', 'domainXml', 'defineDomain', 'undefineDomain', 'createDomain',
  'start', 'shutdown', 'destroy', 'reboot', 'suspend', 'resume', 'setAutostart', 'allDomainStats', 'setVcpus', 'setMemory', 'setMaxMemory',
  'getSchedulerParams', 'setSchedulerParams', 'attachDevice', 'detachDevice', 'updateDevice', 'snapshotCreate', 'snapshotList',
  'snapshotCurrent', 'snapshotRevert', 'snapshotDelete', 'listPools', 'poolXml', 'poolRefresh', 'listVolumes', 'createVolume',
  'deleteVolume', 'listNetworks', 'networkXml', 'networkDefine', 'networkUndefine', 'networkStart', 'networkStop',
  'networkSetAutostart', 'jobStats', 'abortJob', 'guestAgentCommand',
  'networkDhcpLeases', 'poolDefine', 'poolStart', // poolBuild is not timed: making a pool's target may take as long as the disk needs
]);

export function isConnectionLoss(e: unknown): boolean {
  return e instanceof ConnectionClosedError || (e instanceof Error && /ECONNREFUSED|ENOENT|EPIPE|ECONNRESET|connection.*closed/i.test(e.message));
}

export class HypervisorLink {
  private hv: Hypervisor | undefined;
  private wrapped: Hypervisor | undefined;
  private st: LinkStatus = { up: false, since: Date.now(), reason: 'not connected yet', attempts: 0 };
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private connecting: Promise<void> | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly source: Hypervisor | (() => Promise<Hypervisor>),
    private readonly o: LinkOptions = {},
  ) {
    this.timeoutMs = o.callTimeoutMs ?? 30_000;
  }

  status(): LinkStatus {
    return { ...this.st };
  }

  /** The hypervisor with timeouts on its calls; throws a LIBVIRT_DOWN fault while down. */
  get(): Hypervisor {
    this.check();
    if (!this.wrapped || !this.st.up) {
      throw new XmlRpcFault(AgentFault.LIBVIRT_DOWN, `libvirt is not reachable: ${this.st.reason ?? 'down'} (the agent retries on its own)`);
    }
    return this.wrapped;
  }

  /** The raw connection when up (for long calls that manage their own time). */
  raw(): Hypervisor | undefined {
    return this.st.up ? this.hv : undefined;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  /** Notices a dead connection between calls (cheap: isAlive is local state). */
  check(): void {
    if (this.st.up && this.hv && !this.hv.isAlive()) this.markDown('connection to libvirtd lost');
  }

  /** Called by anyone whose call failed; a connection loss marks libvirt down. */
  noteError(e: unknown): void {
    if (isConnectionLoss(e)) this.markDown(e instanceof Error ? e.message : String(e));
  }

  private markDown(reason: string): void {
    if (!this.st.up) return;
    this.st = { up: false, since: Date.now(), reason, attempts: 0 };
    this.o.onDown?.(reason);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.timer) return;
    const min = this.o.minBackoffMs ?? 500;
    const delay = Math.min(this.o.maxBackoffMs ?? 15_000, min * 2 ** Math.min(this.st.attempts, 10));
    this.st.nextRetryAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
    this.timer.unref();
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      try {
        let hv: Hypervisor;
        if (typeof this.source === 'function') {
          if (this.hv) await this.hv.close().catch(() => undefined);
          hv = await this.source();
        } else {
          hv = this.source;
          if (!hv.isAlive()) throw new Error('connection to libvirtd lost');
          await hv.hostInfo(); // proves the daemon answers
        }
        if (this.closed) return;
        this.hv = hv;
        this.wrapped = this.wrap(hv);
        this.st = { up: true, since: Date.now(), attempts: 0 };
        await this.o.onUp?.(this.wrapped);
      } catch (e) {
        this.st = { ...this.st, up: false, reason: e instanceof Error ? e.message : String(e), attempts: this.st.attempts + 1 };
        this.scheduleRetry();
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  private wrap(hv: Hypervisor): Hypervisor {
    return new Proxy(hv, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function' || typeof prop !== 'string' || !TIMED_CALLS.has(prop)) {
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return (...args: unknown[]) => this.timed(prop, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    });
  }

  private timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new XmlRpcFault(AgentFault.LIBVIRT_TIMEOUT, `libvirt call ${name} got no answer in ${this.timeoutMs} ms`)), this.timeoutMs);
      fn().then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          this.noteError(e);
          if (isConnectionLoss(e)) reject(new XmlRpcFault(AgentFault.LIBVIRT_DOWN, `libvirt is not reachable: ${(e as Error).message}`));
          else if (e instanceof CallTimeoutError) reject(new XmlRpcFault(AgentFault.LIBVIRT_TIMEOUT, e.message));
          else reject(e);
        },
      );
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (typeof this.source === 'function' && this.hv) await this.hv.close().catch(() => undefined);
  }
}
