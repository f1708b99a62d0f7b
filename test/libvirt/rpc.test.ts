// RpcConnection against a scripted peer on a unix socket: serial matching with
// replies out of order, late replies after a timeout, keepalive PING/PONG, event
// routing and stream packets. (The real daemon is exercised in the e2e files.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, encodeRaw, FrameDecoder, type Frame } from '../../src/libvirt/rpc/frame.js';
import { KEEPALIVE_PROGRAM, KeepaliveProc, MessageStatus, MessageType, REMOTE_PROGRAM } from '../../src/libvirt/rpc/constants.js';
import { RpcConnection } from '../../src/libvirt/rpc/connection.js';
import { LibvirtStream } from '../../src/libvirt/rpc/stream.js';
import { CallTimeoutError } from '../../src/libvirt/errors.js';

type Handler = (f: Frame, s: net.Socket) => void;

describe('RpcConnection with a scripted peer', () => {
  let dir: string;
  let path: string;
  let server: net.Server;
  let handler: Handler = () => undefined;
  const seen: Frame[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vem-rpc-'));
    path = join(dir, 'sock');
    server = net.createServer((s) => {
      const dec = new FrameDecoder();
      s.on('data', (c: Buffer) =>
        dec.push(c, (f) => {
          seen.push({ header: f.header, body: Buffer.from(f.body) });
          handler(f, s);
        }),
      );
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(path, r));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reply = (s: net.Socket, f: Frame, text: string): void => {
    s.write(encodeMessage({ ...f.header, type: MessageType.REPLY, status: MessageStatus.OK }, (w) => w.string(text)));
  };

  it('matches replies to calls by serial, in any order', async () => {
    const held: Array<[Frame, net.Socket]> = [];
    handler = (f, s) => {
      held.push([f, s]);
      if (held.length === 3) for (const [hf, hs] of held.reverse()) reply(hs, hf, `answer-${hf.header.serial}`);
    };
    const rpc = await RpcConnection.open({ path }, { uri: 'x', keepaliveMs: 0 });
    const a = rpc.callRaw(59);
    const b = rpc.callRaw(59);
    const c = rpc.callRaw(59);
    const texts = await Promise.all([a, b, c].map(async (x) => {
      const body = await x.reply;
      return [x.serial, body.subarray(4, 4 + body.readUInt32BE(0)).toString()] as const;
    }));
    for (const [serial, text] of texts) assert.equal(text, `answer-${serial}`);
    await rpc.close();
  });

  it('a reply that comes after its timeout is dropped and the connection goes on', async () => {
    handler = (f, s) => setTimeout(() => reply(s, f, 'late'), f.header.serial === 1 ? 200 : 0);
    const rpc = await RpcConnection.open({ path }, { uri: 'x', keepaliveMs: 0 });
    await assert.rejects(rpc.call(59, undefined, (r) => r.string(), { timeoutMs: 50 }), CallTimeoutError);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rpc.alive, true);
    assert.equal(await rpc.call(59, undefined, (r) => r.string()), 'late');
    await rpc.close();
  });

  it('answers the daemon\'s keepalive PING with PONG and sends its own PINGs when idle', async () => {
    seen.length = 0;
    handler = () => undefined;
    const rpc = await RpcConnection.open({ path }, { uri: 'x', keepaliveMs: 100, keepaliveCount: 50 });
    await new Promise((r) => setTimeout(r, 300));
    const pings = seen.filter((f) => f.header.program === KEEPALIVE_PROGRAM && f.header.procedure === KeepaliveProc.PING);
    assert.ok(pings.length >= 1, 'no PING sent while idle');
    await rpc.close();

    seen.length = 0;
    let sock: net.Socket | null = null;
    handler = (_f, s) => (sock = s);
    const rpc2 = await RpcConnection.open({ path }, { uri: 'x', keepaliveMs: 0 });
    rpc2.callRaw(59).reply.catch(() => undefined);
    for (let i = 0; i < 50 && !sock; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(sock);
    (sock as net.Socket).write(encodeMessage({ program: KEEPALIVE_PROGRAM, version: 1, procedure: KeepaliveProc.PING, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK }));
    for (let i = 0; i < 50 && !seen.some((f) => f.header.procedure === KeepaliveProc.PONG); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(seen.some((f) => f.header.program === KEEPALIVE_PROGRAM && f.header.procedure === KeepaliveProc.PONG), 'no PONG');
    await rpc2.close();
  });

  it('routes event messages to listeners and stream packets to their stream, which ends on OK', async () => {
    let sock: net.Socket | null = null;
    handler = (f, s) => {
      sock = s;
      if (f.header.type === MessageType.CALL) {
        s.write(encodeMessage({ ...f.header, type: MessageType.REPLY, status: MessageStatus.OK }));
        const h = { ...f.header, type: MessageType.STREAM, status: MessageStatus.CONTINUE };
        s.write(encodeRaw(h, Buffer.from('hello ')));
        s.write(encodeRaw(h, Buffer.from('console')));
        s.write(encodeMessage({ program: REMOTE_PROGRAM, version: 1, procedure: 318, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK }, (w) => w.int(1)));
      } else if (f.header.type === MessageType.STREAM && f.header.status === MessageStatus.CONTINUE) {
        s.write(encodeRaw({ ...f.header, status: MessageStatus.CONTINUE }, Buffer.concat([Buffer.from('echo:'), f.body])));
      } else if (f.header.type === MessageType.STREAM && f.header.status === MessageStatus.OK) {
        s.write(encodeRaw({ ...f.header, status: MessageStatus.OK }, Buffer.alloc(0)));
      }
    };
    const rpc = await RpcConnection.open({ path }, { uri: 'x', keepaliveMs: 0 });
    const events: Frame[] = [];
    rpc.on('event', (f: Frame) => events.push(f));
    const { serial, reply: r } = rpc.callRaw(201);
    const stream = new LibvirtStream(rpc, 201, serial);
    await r;
    const chunks: Buffer[] = [];
    stream.on('data', (b: Buffer) => chunks.push(b));
    const ended = new Promise<void>((res) => stream.on('end', () => res()));
    stream.write('ls\r');
    for (let i = 0; i < 100 && !Buffer.concat(chunks).toString().includes('echo:ls'); i++) await new Promise((res) => setTimeout(res, 10));
    stream.end();
    await ended;
    assert.equal(Buffer.concat(chunks).toString(), 'hello consoleecho:ls\r');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.header.procedure, 318);
    assert.ok(sock);
    await rpc.close();
  });
  it("a download's end of data (an empty CONTINUE) ends the stream, after which it sends the finish the daemon waits for", async () => {
    const finishes: Frame[] = [];
    handler = (f, s) => {
      if (f.header.type === MessageType.CALL) {
        s.write(encodeMessage({ ...f.header, type: MessageType.REPLY, status: MessageStatus.OK }));
        const h = { ...f.header, type: MessageType.STREAM, status: MessageStatus.CONTINUE };
        s.write(encodeRaw(h, Buffer.from('volume bytes')));
        s.write(encodeRaw(h, Buffer.alloc(0))); // libvirtd's EOF for a read stream
      } else if (f.header.type === MessageType.STREAM && f.header.status === MessageStatus.OK) {
        finishes.push(f);
        s.write(encodeRaw({ ...f.header, status: MessageStatus.OK }, Buffer.alloc(0)));
      }
    };
    const rpc = await RpcConnection.open({ path }, { uri: 'x', keepaliveMs: 0 });
    const { serial, reply: r } = rpc.callRaw(209);
    const stream = new LibvirtStream(rpc, 209, serial);
    await r;
    const chunks: Buffer[] = [];
    stream.on('data', (b: Buffer) => chunks.push(b));
    await new Promise<void>((res, rej) => {
      stream.on('close', () => res());
      stream.on('error', rej);
    });
    assert.equal(Buffer.concat(chunks).toString(), 'volume bytes');
    assert.equal(finishes.length, 1, 'one finish sent back');
    assert.equal(finishes[0]?.header.serial, serial);
    await rpc.close();
  });
});
