/** Local 127.0.0.1 listeners whose connections become streams the link opens (SSH direct-tcpip): `vem vnc`. */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { LocalForward } from './types.js';

/**
 * A server whose every connection is piped to a fresh stream from `open` (a failed
 * open closes that connection only), and a way to end the server with every
 * connection: the TCP forwards here and agentless-relay.ts's unix socket share it.
 */
export function relayServer(open: () => Promise<Duplex>): { server: net.Server; closeAll(): void } {
  const conns = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.pause();
    open().then(
      (ch) => {
        if (sock.destroyed) {
          ch.destroy();
          return;
        }
        ch.on('error', () => sock.destroy());
        ch.on('close', () => sock.destroy());
        sock.on('close', () => ch.destroy());
        sock.pipe(ch);
        ch.pipe(sock);
        sock.resume();
      },
      () => sock.destroy(),
    );
  });
  return {
    server,
    closeAll() {
      server.close();
      for (const c of conns) c.destroy();
    },
  };
}

export function listenForward(open: () => Promise<Duplex>, onClose?: () => void): Promise<LocalForward> {
  const { server, closeAll } = relayServer(open);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      let closed = false;
      resolve({
        host: '127.0.0.1',
        port,
        close() {
          if (closed) return;
          closed = true;
          closeAll();
          onClose?.();
        },
      });
    });
  });
}
