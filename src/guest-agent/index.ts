/**
 * The in-guest agent (`vem guest-agent`): reports on and acts in the guest it
 * runs in, for the node agent on the other end of a virtio-serial channel.
 * Transports: the virtio port (framing in src/common/guest-framing.ts), a unix socket standing in
 * for the channel, or plain XML-RPC over HTTP on loopback (--listen).
 */
import type { Server } from 'node:net';
import { buildGuestRegistry, DEFAULT_LOG_PATH, DEFAULT_POLICY_PATH } from './methods.js';
import { realHost, type GuestHost } from './host.js';
import { serveDevice, serveUnixChannel, type AgentLog } from './port.js';
import { startXmlRpcServer } from '../common/xmlrpc/server.js';
import type { MethodRegistry } from '../common/xmlrpc/registry.js';

export { buildGuestRegistry, DEFAULT_LOG_PATH, DEFAULT_POLICY_PATH, GUEST_AGENT_VERSION } from './methods.js';
export { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from '../common/guest-framing.js';

export const DEFAULT_CHANNEL = 'org.vemanager.guest.0';

export interface GuestAgentOptions {
  /** The virtio port device (default /dev/virtio-ports/<channel>), or `unix:PATH` to listen on a unix socket instead. */
  port?: string;
  /** 127.0.0.1:PORT: plain XML-RPC over HTTP (port 0 = pick). */
  listen?: string;
  policyPath?: string;
  logPath?: string;
  host?: GuestHost;
  log?: AgentLog;
}

export interface RunningGuestAgent {
  registry: MethodRegistry;
  /** The HTTP URL when --listen was given. */
  url?: string;
  close(): Promise<void>;
}

export async function startGuestAgent(o: GuestAgentOptions): Promise<RunningGuestAgent> {
  const log = o.log ?? ((m: string) => process.stderr.write(`vem guest-agent: ${m}\n`));
  const registry = buildGuestRegistry({ host: o.host ?? realHost(), policyPath: o.policyPath ?? DEFAULT_POLICY_PATH, logPath: o.logPath ?? DEFAULT_LOG_PATH });
  const closers: Array<() => Promise<void>> = [];
  let url: string | undefined;
  if (o.listen !== undefined) {
    // Loopback only (the server refuses anything else without TLS and a token): for development and stock clients.
    const h = await startXmlRpcServer({ registry, listen: o.listen, readOnly: false, maxBodyBytes: 4 * 1024 * 1024 });
    url = h.url;
    log(`XML-RPC over HTTP on ${h.url}`);
    closers.push(() => h.close());
  }
  if (o.port !== undefined) {
    if (o.port.startsWith('unix:')) {
      const srv: Server = await serveUnixChannel(registry, o.port.slice(5), log);
      closers.push(() => new Promise<void>((r) => srv.close(() => r())));
    } else {
      const ac = new AbortController();
      const done = serveDevice(registry, o.port, log, ac.signal);
      closers.push(async () => {
        ac.abort();
        await Promise.race([done, new Promise((r) => setTimeout(r, 300))]);
      });
    }
  }
  return {
    registry,
    url,
    async close() {
      for (const c of closers) await c();
    },
  };
}
