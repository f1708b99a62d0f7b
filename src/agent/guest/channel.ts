/**
 * The host end of one VM's guest-agent channel: a unix socket QEMU listens on
 * (libvirt <channel type='unix'><source mode='bind'/>), carrying framed XML-RPC
 * (src/common/guest-framing.ts). Calls may overlap; replies match by id, and a
 * late reply to a call that timed out is dropped.
 *
 * Everything from the guest is hostile. The channel is read only while a call
 * waits for its reply (a guest that floods fills its own pipe, not our memory
 * or CPU: QEMU stops taking its writes); what arrives is bounded per call; and
 * a guest that sends garbage, replies to no call, or more than any reply could
 * be, is cut off with a GuestMisbehavedError naming what it did (the relay then
 * refuses its calls for a while: quarantine).
 */
import net from 'node:net';
import { VemError } from '../../common/errors.js';
import { decodeResponse, encodeCall, XmlRpcFault } from '../../common/xmlrpc/codec.js';
import type { XmlRpcValue } from '../../common/xmlrpc/value.js';
import { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../../common/guest-framing.js';

/** Fault code for "nothing answers in the guest": no channel, channel closed, or no reply in time. */
export const NO_GUEST_AGENT = 404;
/** Fault code for "the guest's end of the channel misbehaved" (its calls are refused for a while). */
export const GUEST_MISBEHAVED = 409;

export class NoGuestAgentError extends VemError {
  readonly code = NO_GUEST_AGENT;
}

export class GuestMisbehavedError extends VemError {
  readonly code = GUEST_MISBEHAVED;
}

/** What a guest may get wrong before it is cut off. */
export interface ChannelLimits {
  /** Bytes that are no frame (skipped while resynchronising). */
  garbageBytes: number;
  /** Frames whose id matches no call (a late reply now and then is normal). */
  staleFrames: number;
  /** Bytes received for one call beyond its largest possible reply. */
  bytesPerCall: number;
}

export const DEFAULT_LIMITS: ChannelLimits = { garbageBytes: 64 * 1024, staleFrames: 8, bytesPerCall: MAX_FRAME_BYTES + FRAME_HEADER_BYTES + 64 * 1024 };

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
  /** Replies that matched no pending call (late answers to timed-out calls, or a hostile guest). */
  staleReplies = 0;
  /** Bytes read since the channel last had no call waiting. */
  private bytesThisBusy = 0;
  /** Bytes read since the channel opened (a call that saw none come back resets the channel). */
  private bytesEver = 0;
  private garbageAtIdle = 0;
  /** Set when the guest was cut off for misbehaving. */
  misbehaved: string | undefined;

  constructor(
    readonly path: string,
    private readonly label: string,
    private readonly limits: ChannelLimits = DEFAULT_LIMITS,
    private readonly onMisbehave?: (reason: string) => void,
  ) {}

  get isOpen(): boolean {
    return this.sock !== undefined && this.closedReason === undefined && !this.sock.destroyed;
  }

  get garbageBytes(): number {
    return this.dec.garbageBytes;
  }

  /** Bytes held for a frame not yet complete (bounded by the frame cap). */
  get bufferedBytes(): number {
    return this.dec.pendingBytes;
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
        sock.pause(); // nothing is asked yet: nothing is read
        resolve();
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NoGuestAgentError(`${this.label}: cannot connect to the guest channel ${this.path}: ${e.code ?? e.message}`));
      });
    });
  }

  private onData(d: Buffer): void {
    if (this.misbehaved) return;
    this.bytesThisBusy += d.length;
    this.bytesEver += d.length;
    for (const f of this.dec.push(d)) {
      const p = this.pending.get(f.id);
      if (!p) {
        this.staleReplies++;
        if (this.staleReplies > this.limits.staleFrames) return this.cutOff(`sent ${this.staleReplies} replies to no call (wrong ids)`);
        continue;
      }
      this.pending.delete(f.id);
      clearTimeout(p.timer);
      try {
        p.resolve(decodeResponse(f.body.toString('utf8'), { maxBytes: MAX_FRAME_BYTES }));
      } catch (e) {
        // A fault reply is the guest's answer (its policy refused, say); anything else is not a reply.
        p.reject(e instanceof XmlRpcFault ? e : new NoGuestAgentError(`${this.label}: the guest agent answered with something that is not an XML-RPC reply: ${(e as Error).message}`));
      }
    }
    const garbage = this.dec.garbageBytes - this.garbageAtIdle;
    if (garbage > this.limits.garbageBytes) return this.cutOff(`sent ${garbage} bytes that are no frame (garbage)`);
    if (this.bytesThisBusy > this.limits.bytesPerCall) return this.cutOff(`sent ${this.bytesThisBusy} bytes for calls whose replies are at most ${MAX_FRAME_BYTES} bytes`);
    this.idleCheck();
  }

  /** Stop reading when no call waits: what the guest sends meanwhile stays in its own pipe. */
  private idleCheck(): void {
    if (this.pending.size === 0 && this.sock && !this.sock.destroyed) {
      this.sock.pause();
      this.bytesThisBusy = 0;
      // A partial frame now can only be a reply to a call given up on: drop it, or a hostile header
      // announcing 16 MiB would swallow the next real reply.
      this.dec.reset();
      this.garbageAtIdle = this.dec.garbageBytes;
    }
  }

  private cutOff(what: string): void {
    if (this.misbehaved) return;
    this.misbehaved = what;
    this.onMisbehave?.(what);
    this.fail(`the guest misbehaved: it ${what}; the channel was closed`, true);
  }

  private fail(reason: string, hostile = false): void {
    if (this.closedReason === undefined) this.closedReason = reason;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(hostile ? new GuestMisbehavedError(`${this.label}: ${reason}`) : new NoGuestAgentError(`${this.label}: ${reason} during the call`));
    }
    this.sock?.destroy();
  }

  call(method: string, params: XmlRpcValue[], timeoutMs: number): Promise<XmlRpcValue> {
    const sock = this.sock;
    if (!sock || !this.isOpen) return Promise.reject(new NoGuestAgentError(`${this.label}: ${this.closedReason ?? 'the guest channel is not connected'}`));
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffffffff) + 1;
    const frame = encodeFrame(id, encodeCall(method, params));
    const staleBefore = this.staleReplies;
    const bytesBefore = this.bytesEver;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const stale = this.staleReplies - staleBefore;
        const partial = this.dec.pendingBytes;
        const seen = stale > 0 ? ` (it sent ${stale} repl${stale === 1 ? 'y' : 'ies'} with ids matching no call)` : partial > 0 ? ` (${partial} bytes of an unfinished reply arrived)` : '';
        const silent = this.bytesEver === bytesBefore;
        reject(new NoGuestAgentError(`${this.label}: the guest agent did not answer ${method} within ${timeoutMs} ms${seen}${silent ? '; not a byte came back, so the channel is reopened for the next call' : ''}`));
        if (silent) {
          // QEMU (7.2) keeps a virtio-serial port throttled when the guest wrote while no host was
          // connected (a VM migrated in before this agent connected): the guest then blocks for good.
          // Closing our end makes QEMU reset the port (it drops what it held), so the next call gets through.
          this.fail(`no byte came back within ${timeoutMs} ms; the channel was reset`);
          return;
        }
        this.idleCheck();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      sock.write(frame);
      sock.resume();
    });
  }

  close(): void {
    this.fail('the node agent closed the channel');
  }
}
