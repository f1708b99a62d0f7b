/**
 * Acknowledge each burst of libvirt replies on an agentless node's stream-local channel.
 *
 * The node's sshd turns Nagle's algorithm off only for pty and X11 sessions (OpenSSH's
 * session.c), so on a forwarded channel it holds a small segment while an earlier one is
 * unacknowledged. The in-process agent makes several libvirt calls at once (vm.info makes
 * two); the first reply arrives, this end has nothing to send, Linux delays its ACK up to
 * 40 ms, and the second reply waits for it: agentless vm.info took ~40 ms against 2.5 ms
 * through a resident agent. Sending something back at once carries the ACK with it; the
 * one thing there is to send is the window this end just consumed. So after each burst of
 * data, the channel hands that window back with ssh2's own top-up (windowAdjust in
 * lib/Channel.js), which ssh2 itself would only send once half the 2 MiB window is used.
 *
 * windowAdjust is not part of ssh2's documented API: test/link/agentless-ack.test.ts
 * fails if an upgrade moves or changes it, and without it channels just run as before.
 */
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';

/** The fields of ssh2's Channel that its windowAdjust reads and this module checks. */
interface Ssh2ChannelInternals {
  incoming: { window: number };
  outgoing: { state?: string };
  /** ssh2 sets this when push() returned false: the reader is behind, so no window is handed back. */
  _waitChanDrain?: boolean;
}

export type WindowAdjust = (ch: Ssh2ChannelInternals) => void;

let cached: WindowAdjust | null | undefined;

/** ssh2's windowAdjust from lib/Channel.js, or undefined if this ssh2 has none there. */
export function ssh2WindowAdjust(): WindowAdjust | undefined {
  if (cached === undefined) {
    try {
      const m = createRequire(import.meta.url)('ssh2/lib/Channel.js') as { windowAdjust?: unknown };
      cached = typeof m.windowAdjust === 'function' ? (m.windowAdjust as WindowAdjust) : null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}

function isSsh2Channel(ch: object): ch is Duplex & Ssh2ChannelInternals {
  const c = ch as Partial<Ssh2ChannelInternals>;
  return typeof c.incoming?.window === 'number' && typeof c.outgoing === 'object' && c.outgoing !== null;
}

/**
 * Makes `ch` (an ssh2 channel, before anything reads it) hand back its consumed window
 * after each burst of incoming data: once per turn of the event loop (setImmediate), so
 * the replies read from one TCP segment cost one small packet, not one each. A channel
 * whose reader is behind (ssh2's _waitChanDrain) gets nothing back, so SSH flow control
 * still holds. Returns `ch`; anything that is not an ssh2 channel is returned untouched.
 */
export function ackEachBurst<T extends Duplex>(ch: T, adjust: WindowAdjust | undefined = ssh2WindowAdjust()): T {
  if (adjust === undefined || !isSsh2Channel(ch)) return ch;
  let queued = false;
  const flush = (): void => {
    queued = false;
    if (ch.destroyed || ch._waitChanDrain === true) return;
    adjust(ch);
  };
  // A 'data' listener would start the flow before the caller pipes the channel, and what
  // came first would be lost to it; paused, the caller's pipe() starts the flow for both.
  ch.pause();
  ch.on('data', () => {
    if (queued) return;
    queued = true;
    setImmediate(flush);
  });
  return ch;
}
