import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { LibvirtStream } from '../rpc/stream.js';
import { writeDomain, type DomainHandle } from './types.js';

/** VIR_DOMAIN_CONSOLE_FORCE = 1: take the console from another session. */
export const CONSOLE_FORCE = 1;

/** Open a domain's console (first serial by default) as a byte stream. */
export async function openConsole(rpc: RpcConnection, d: DomainHandle, device?: string, force = false): Promise<LibvirtStream> {
  const { serial, reply } = rpc.callRaw(Proc.DOMAIN_OPEN_CONSOLE, (w) => (writeDomain(w, d), w.optString(device ?? null), w.uint(force ? CONSOLE_FORCE : 0)));
  // The stream must be attached before any data packet can arrive (they follow the reply).
  const stream = new LibvirtStream(rpc, Proc.DOMAIN_OPEN_CONSOLE, serial);
  try {
    await reply;
  } catch (e) {
    stream.discard();
    throw e;
  }
  return stream;
}
