/**
 * The host end of one VM's guest-agent channel: a unix socket QEMU listens on
 * (libvirt <channel type='unix'><source mode='bind'/>), carrying framed XML-RPC
 * (src/common/guest-framing.ts). Calls may overlap; replies match by id, and a
 * late reply to a call that timed out is dropped.
 */
import net from 'node:net';
import { VemError } from '../../common/errors.js';
import { decodeResponse, encodeCall } from '../../common/xmlrpc/codec.js';
import type { XmlRpcValue } from '../../common/xmlrpc/value.js';
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from '../../common/guest-framing.js';

/** Fault code for "nothing answers in the guest": no channel, channel closed, or no reply in time. */
export const NO_GUEST_AGENT = 404;

export class NoGuestAgentError extends VemError {
  readonly code = NO_GUEST_AGENT;
}

interface Pending {
  resolve(v: XmlRpcValue): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class GuestChannel {
  private sock: net.Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly dec = new FrameDecoder();
  private closedReason: string | undefined;
  /** Replies that matched no pending call (late answers to timed-out calls). */
  staleReplies = 0;

  constructor(
    readonly path: string,
    private readonly label: string,
  ) {}

  get isOpen(): boolean {
    return this.sock !== undefined && this.closedReason === undefined && !this.sock.destroyed;
  }

  get garbageBytes(): number {
    return this.dec.garbageBytes;
  }

  connect(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(this.path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new NoGuestAgentError(`${this.label}: cannot connect to the guest channel ${this.path} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        this.sock = sock;
        sock.on('data', (d: Buffer) => this.onData(d));
        sock.on('close', () => this.fail(`the guest channel closed`));
        sock.on('error', (e) => this.fail(`the guest channel failed: ${e.message}`));
        resolve();
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NoGuestAgentError(`${this.label}: cannot connect to the guest channel ${this.path}: ${e.code ?? e.message}`));
      });
    });
  }

  private onData(d: Buffer): void {
    for (const f of this.dec.push(d)) {
      const p = this.pending.get(f.id);
      if (!p) {
        this.staleReplies++;
        continue;
      }
      this.pending.delete(f.id);
      clearTimeout(p.timer);
      try {
        p.resolve(decodeResponse(f.body.toString('utf8'), { maxBytes: MAX_FRAME_BYTES }));
      } catch (e) {
        p.reject(e as Error);
      }
    }
  }

  private fail(reason: string): void {
    if (this.closedReason === undefined) this.closedReason = reason;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new NoGuestAgentError(`${this.label}: ${reason} during the call`));
    }
    this.sock?.destroy();
  }

  call(method: string, params: XmlRpcValue[], timeoutMs: number): Promise<XmlRpcValue> {
    const sock = this.sock;
    if (!sock || !this.isOpen) return Promise.reject(new NoGuestAgentError(`${this.label}: ${this.closedReason ?? 'the guest channel is not connected'}`));
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffffffff) + 1;
    const frame = encodeFrame(id, encodeCall(method, params));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NoGuestAgentError(`${this.label}: the guest agent did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      sock.write(frame);
    });
  }

  close(): void {
    this.fail('the node agent closed the channel');
  }
}
