import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { openStream, type LibvirtStream } from '../rpc/stream.js';
import { writeDomain, type DomainHandle } from './types.js';

/** VIR_DOMAIN_CONSOLE_FORCE = 1: take the console from another session. */
export const CONSOLE_FORCE = 1;

/** Open a domain's console (first serial by default) as a byte stream. */
export function openConsole(rpc: RpcConnection, d: DomainHandle, device?: string, force = false): Promise<LibvirtStream> {
  return openStream(rpc, Proc.DOMAIN_OPEN_CONSOLE, (w) => (writeDomain(w, d), w.optString(device ?? null), w.uint(force ? CONSOLE_FORCE : 0)));
}
