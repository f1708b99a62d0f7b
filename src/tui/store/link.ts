/**
 * The part of the transport's NodeLink (src/tui/transport/index.ts) that the
 * store and the command layer use, declared structurally so the TUI's pure
 * parts compile and test on their own; the real NodeLink satisfies it.
 */
import type { Duplex } from 'node:stream';

export type XmlRpcValue = null | boolean | number | string | Date | Buffer | XmlRpcValue[] | { [key: string]: XmlRpcValue };

export type LinkState = 'connecting' | 'up' | 'down' | 'auth-failed' | 'hostkey-refused' | 'hostkey-unknown';

export interface Link {
  readonly name: string;
  readonly state: LinkState;
  readonly detail?: string;
  on(ev: 'state', cb: (s: LinkState, detail?: string) => void): void;
  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue>;
  openConsole(vm: string): Promise<Duplex>;
  close(): Promise<void>;
}
