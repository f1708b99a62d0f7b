/**
 * A unix socket on the front end whose connections become streams the link opens
 * (SSH stream-local channels to a socket on the node): the in-process agent of an
 * agentless node opens libvirt and guest channels through it as if they were local.
 * The socket lives in a 0700 folder of the front end's user and is itself 0600.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { relayServer } from './forward.js';

export interface UnixRelay {
  path: string;
  close(): void;
}

/**
 * Listens on `path` at once (the bind of a unix socket is synchronous in Node,
 * so a caller may connect right after this returns) and pipes each connection to
 * a fresh stream from `open`; a failed open closes that connection only.
 */
export function listenUnixRelay(path: string, open: () => Promise<Duplex>): UnixRelay {
  const { server, closeAll } = relayServer(open);
  server.on('error', () => undefined);
  server.listen(path);
  try {
    chmodSync(path, 0o600);
  } catch {
    // the folder is 0700 already
  }
  let closed = false;
  return {
    path,
    close() {
      if (closed) return;
      closed = true;
      closeAll();
      try {
        unlinkSync(path);
      } catch {
        // gone already
      }
    },
  };
}
