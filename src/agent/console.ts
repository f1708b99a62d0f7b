/**
 * GET /console/<vm>[?device=NAME][&force=1] with "Upgrade: vem-console": 101,
 * then the VM's serial console as raw bytes both ways (hv.openConsole). Same
 * token as XML-RPC; refused in read-only mode (typing into a console changes
 * things); audited. One session per VM: a second is refused naming who holds
 * it, unless force=1 takes it over (the holder is told and disconnected).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Hypervisor } from '../libvirt/hypervisor.js';

export interface ConsoleDeps {
  hv(): Hypervisor;
  readOnly: boolean;
  audit(caller: string, vm: string, ok: boolean, message?: string): void;
  /** The consoles this agent has opened, by VM (kept by the agent across requests). */
  sessions: Map<string, ConsoleSession>;
}

export interface ConsoleSession {
  caller: string;
  since: number;
  open: boolean;
  /** Said to its user when it ends (set before a takeover: libvirt may abort the stream first). */
  notice?: string;
  /** Ends it now, saying the notice. */
  end(): void;
}

const BUSY = /active console session exists/i;

/**
 * Open the console; when libvirt still holds a session this agent has already
 * ended (its abort is processed asynchronously), take it over: it is ours.
 */
async function openFor(d: ConsoleDeps, vm: string, device: string | undefined, force: boolean, prev: ConsoleSession | undefined): Promise<Duplex> {
  try {
    return await d.hv().openConsole(vm, device, force ? { force: true } : undefined);
  } catch (e) {
    if (force || !(e instanceof Error) || !BUSY.test(e.message) || !prev || prev.open) throw e;
    return d.hv().openConsole(vm, device, { force: true });
  }
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
  const q = new URLSearchParams(m[2] ?? '');
  const device = q.get('device') ?? undefined;
  const force = q.get('force') === '1';
  if (d.readOnly) {
    d.audit(caller, vm, false, 'read-only agent');
    reply(socket, '403 Forbidden', 'this agent is read-only; consoles are refused\n');
    return true;
  }
  const prev = d.sessions.get(vm);
  if (prev?.open && !force) {
    const msg = `the console of ${vm} is in use by ${prev.caller} since ${new Date(prev.since).toISOString()} (force=1 takes it over and ends that session)`;
    d.audit(caller, vm, false, msg);
    reply(socket, '409 Conflict', `${msg}\n`);
    return true;
  }
  if (prev?.open) prev.notice = `console taken over by ${caller}`;
  let stream: Duplex;
  try {
    stream = await openFor(d, vm, device, force, prev);
  } catch (e) {
    if (prev) delete prev.notice;
    const raw = e instanceof Error ? e.message : String(e);
    const msg = BUSY.test(raw) ? `${raw} (another client such as virsh console holds it; force=1 takes it over and ends that session)` : raw;
    d.audit(caller, vm, false, msg);
    reply(socket, '409 Conflict', `${msg}\n`);
    return true;
  }
  if (prev?.open) prev.end();
  // However it ends (its user, the guest, libvirt aborting it for a takeover), a notice is said first.
  const finish = (): void => {
    if (socket.writableEnded || socket.destroyed) return;
    socket.end(session.notice !== undefined ? `\r\n[ve-manager: ${session.notice}]\r\n` : undefined);
  };
  const session: ConsoleSession = {
    caller,
    since: Date.now(),
    open: true,
    end: () => {
      finish();
      stream.destroy();
    },
  };
  d.sessions.set(vm, session);
  const closed = (): void => {
    session.open = false;
  };
  stream.once('close', closed);
  socket.once('close', closed);
  // The client hung up (HTTP sockets stay half-open): nobody is left to read, so the console is
  // free at once and the libvirt stream is aborted rather than drained (a console has nothing to flush).
  socket.once('end', () => {
    closed();
    stream.destroy();
  });
  d.audit(caller, vm, true, force ? 'forced' : undefined);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: vem-console\r\nConnection: Upgrade\r\n\r\n');
  if (head.length > 0) stream.write(head);
  stream.on('error', () => (session.notice !== undefined ? finish() : socket.destroy()));
  socket.on('error', () => stream.destroy());
  stream.on('close', finish);
  socket.on('close', () => stream.destroy());
  stream.pipe(socket);
  socket.pipe(stream);
  return true;
}
