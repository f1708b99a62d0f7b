import type { DomainEvent, Unsubscribe } from '../hypervisor.js';
import type { RpcConnection } from '../rpc/connection.js';
import type { Frame } from '../rpc/frame.js';
import { REMOTE_PROGRAM } from '../rpc/constants.js';
import { decodeEvent, deregister, register, SUBSCRIBED_EVENTS } from '../procedures/events.js';

/**
 * Domain event subscriptions. Registration with the daemon happens once, on the
 * first listener, and again on every new connection (reconnect), so listeners
 * keep receiving events across daemon restarts.
 */
export class EventHub {
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private callbackIds = new Set<number>();
  private rpc: RpcConnection | null = null;
  private registering: Promise<void> | null = null;
  /** Events that did not decode (kept for diagnostics; never thrown at listeners). */
  decodeErrors = 0;

  private readonly onFrame = (f: Frame): void => {
    if (f.header.program !== REMOTE_PROGRAM) return;
    let decoded: ReturnType<typeof decodeEvent>;
    try {
      decoded = decodeEvent(f.header.procedure, f.body);
    } catch {
      this.decodeErrors++;
      return;
    }
    if (!decoded || !this.callbackIds.has(decoded.callbackId)) return;
    for (const l of [...this.listeners]) {
      try {
        l(decoded.event);
      } catch {
        // a failing listener must not stop the others
      }
    }
  };

  /** Use a (new) connection; re-registers if anyone listens. */
  async attach(rpc: RpcConnection): Promise<void> {
    this.rpc?.off('event', this.onFrame);
    this.rpc = rpc;
    this.callbackIds = new Set();
    rpc.on('event', this.onFrame);
    this.registering = null;
    if (this.listeners.size > 0) await this.ensureRegistered();
  }

  private ensureRegistered(): Promise<void> {
    const rpc = this.rpc;
    if (!rpc) return Promise.resolve();
    this.registering ??= (async () => {
      const ids = await Promise.all(SUBSCRIBED_EVENTS.map((id) => register(rpc, id)));
      if (this.rpc === rpc) for (const id of ids) this.callbackIds.add(id);
    })().catch((e: unknown) => {
      this.registering = null;
      throw e;
    });
    return this.registering;
  }

  async subscribe(listener: (e: DomainEvent) => void): Promise<Unsubscribe> {
    this.listeners.add(listener);
    try {
      await this.ensureRegistered();
    } catch (e) {
      this.listeners.delete(listener);
      throw e;
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.unregisterAll();
    };
  }

  private async unregisterAll(): Promise<void> {
    const rpc = this.rpc;
    const ids = [...this.callbackIds];
    this.callbackIds.clear();
    this.registering = null;
    if (!rpc?.alive) return;
    await Promise.all(ids.map((id) => deregister(rpc, id).catch(() => undefined)));
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
