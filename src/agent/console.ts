/**
 * GET /console/<vm> with "Upgrade: vem-console": 101, then the VM's serial
 * console as raw bytes both ways (hv.openConsole). Same token as XML-RPC;
 * refused in read-only mode (typing into a console changes things); audited.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Hypervisor } from '../libvirt/hypervisor.js';

export interface ConsoleDeps {
  hv(): Hypervisor;
  readOnly: boolean;
  audit(caller: string, vm: string, ok: boolean, message?: string): void;
}

function reply(socket: Duplex, status: string, msg: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`);
}

export async function handleConsoleUpgrade(d: ConsoleDeps, req: http.IncomingMessage, socket: Duplex, head: Buffer, caller: string): Promise<boolean> {
  const m = /^\/console\/([^/?]+)(?:\?(.*))?$/.exec(req.url ?? '');
  if (!m) return false;
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'vem-console') {
    reply(socket, '400 Bad Request', 'use Upgrade: vem-console\n');
    return true;
  }
  const vm = decodeURIComponent(m[1] as string);
  const device = new URLSearchParams(m[2] ?? '').get('device') ?? undefined;
  if (d.readOnly) {
    d.audit(caller, vm, false, 'read-only agent');
    reply(socket, '403 Forbidden', 'this agent is read-only; consoles are refused\n');
    return true;
  }
  let stream: Duplex;
  try {
    stream = await d.hv().openConsole(vm, device);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    d.audit(caller, vm, false, msg);
    reply(socket, '409 Conflict', `${msg}\n`);
    return true;
  }
  d.audit(caller, vm, true);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: vem-console\r\nConnection: Upgrade\r\n\r\n');
  if (head.length > 0) stream.write(head);
  stream.on('error', () => socket.destroy());
  socket.on('error', () => stream.destroy());
  stream.on('close', () => socket.end());
  socket.on('close', () => stream.destroy());
  stream.pipe(socket);
  socket.pipe(stream);
  return true;
}
