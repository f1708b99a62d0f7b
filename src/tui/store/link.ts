/**
 * The part of the transport's NodeLink (src/link/index.ts) that the
 * store and the command layer use, declared structurally so the TUI's pure
 * parts compile and test on their own; the real NodeLink satisfies it.
 */
import type { Duplex } from 'node:stream';
import type { Caller } from '../../api/client.js';
import type { XmlRpcValue } from '../../common/xmlrpc/value.js';
import type { LocalForward } from '../../link/types.js';

export type { XmlRpcValue };

export type LinkState = 'connecting' | 'up' | 'down' | 'auth-failed' | 'hostkey-refused' | 'hostkey-unknown';

/** A node link: the API's Caller plus connection state and consoles. */
export interface Link extends Caller {
  readonly name: string;
  readonly state: LinkState;
  readonly detail?: string;
  on(ev: 'state', cb: (s: LinkState, detail?: string) => void): void;
  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue>;
  openConsole(vm: string, opts?: { force?: boolean }): Promise<Duplex>;
  close(): Promise<void>;
  /** Set while the state is 'hostkey-unknown': what the admin checks before trusting. */
  readonly pendingHostKey?: { hostPattern: string; keyType: string; fingerprint: string; knownHostsFile: string };
  /** Appends the pending host key to known_hosts and connects again. */
  trustHostKey?(): Promise<void>;
  /** Try now instead of waiting for the next backoff step. */
  reconnect?(): void;
  /** A 127.0.0.1 listener forwarded through the node's SSH connection (SSH and agentless links; the display key). */
  forwardLocal?(remoteHost: string, remotePort: number): Promise<LocalForward>;
  forwardLocalSocket?(path: string): Promise<LocalForward>;
}
