// Bad input: >= 10,000 truncated, oversized and garbled frames through the frame
// decoder and every body decoder. Only ProtocolError may come out; memory stays flat.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XdrReader } from '../../src/libvirt/xdr/reader.js';
import { readTypedParams, TypedParamType, writeTypedParams, type TypedParam } from '../../src/libvirt/xdr/typed-params.js';
import { decodeRemoteError, encodeMessage, FrameDecoder } from '../../src/libvirt/rpc/frame.js';
import { MessageStatus, MessageType, Proc, REMOTE_PROGRAM } from '../../src/libvirt/rpc/constants.js';
import { RpcConnection } from '../../src/libvirt/rpc/connection.js';
import { decodeAllStats } from '../../src/libvirt/procedures/stats.js';
import { decodeEvent } from '../../src/libvirt/procedures/events.js';
import { uuidBytes, writeDomain } from '../../src/libvirt/procedures/types.js';
import { ConnectionClosedError, ProtocolError } from '../../src/libvirt/errors.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENT_PROCS = [Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE, Proc.DOMAIN_EVENT_CALLBACK_REBOOT, Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE, Proc.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, Proc.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, Proc.DOMAIN_EVENT_CALLBACK_JOB_COMPLETED];

function validFrame(rnd: () => number): Buffer {
  const dom = { name: `vm-${Math.floor(rnd() * 1000)}`, uuid: uuidBytes('6a6d0000-0000-4000-8000-000000000001'), id: 1 };
  const kind = Math.floor(rnd() * 4);
  if (kind === 0) {
    return encodeMessage({ program: REMOTE_PROGRAM, version: 1, procedure: Proc.CONNECT_GET_ALL_DOMAIN_STATS, type: MessageType.REPLY, serial: 1, status: MessageStatus.OK }, (w) => {
      const n = 1 + Math.floor(rnd() * 3);
      w.uint(n);
      for (let i = 0; i < n; i++) {
        writeDomain(w, dom);
        const ps: TypedParam[] = [
          { field: 'state.state', type: TypedParamType.INT, value: 1 },
          { field: 'cpu.time', type: TypedParamType.ULLONG, value: Math.floor(rnd() * 1e12) },
          { field: 'net.0.name', type: TypedParamType.STRING, value: 'vnet0' },
          { field: 'block.1.rd.bytes', type: TypedParamType.ULLONG, value: 5 },
          { field: 'vcpu.3.time', type: TypedParamType.ULLONG, value: 7 },
          { field: 'x.d', type: TypedParamType.DOUBLE, value: rnd() },
          { field: 'x.b', type: TypedParamType.BOOLEAN, value: true },
        ];
        writeTypedParams(w, ps);
      }
    });
  }
  if (kind === 1) {
    const proc = EVENT_PROCS[Math.floor(rnd() * EVENT_PROCS.length)] as number;
    return encodeMessage({ program: REMOTE_PROGRAM, version: 1, procedure: proc, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK }, (w) => {
      w.int(1);
      writeDomain(w, dom);
      if (proc === Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE) w.int(3).int(0);
      else if (proc === Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE) w.uhyper(1024);
      else if (proc === Proc.DOMAIN_EVENT_CALLBACK_JOB_COMPLETED) writeTypedParams(w, [{ field: 'downtime', type: TypedParamType.ULLONG, value: 3 }]);
      else if (proc !== Proc.DOMAIN_EVENT_CALLBACK_REBOOT) w.string('net0');
    });
  }
  if (kind === 2) {
    return encodeMessage({ program: REMOTE_PROGRAM, version: 1, procedure: 23, type: MessageType.REPLY, serial: 2, status: MessageStatus.ERROR }, (w) => {
      w.int(42).int(10).optString('Domain not found').int(2).int(0).optString(null).optString(null).optString(null).int(0).int(0).int(0);
    });
  }
  return encodeMessage({ program: REMOTE_PROGRAM, version: 1, procedure: 298, type: MessageType.REPLY, serial: 3, status: MessageStatus.OK }, (w) => {
    w.int(1);
    writeTypedParams(w, [{ field: 'time_elapsed', type: TypedParamType.ULLONG, value: 10 }, { field: 'operation', type: TypedParamType.INT, value: 5 }]);
  });
}

/** One of: truncated (length fixed up or not), oversized length, garbled bytes, random bytes. */
function mutate(b: Buffer, rnd: () => number): Buffer {
  const m = Math.floor(rnd() * 6);
  const out = Buffer.from(b);
  switch (m) {
    case 0: {
      const cut = Math.floor(rnd() * out.length);
      const t = Buffer.from(out.subarray(0, cut));
      if (t.length >= 4) t.writeUInt32BE(t.length, 0); // a short frame that claims to be whole
      return t;
    }
    case 1:
      out.writeUInt32BE(Math.floor(rnd() * 0xffffffff), 0);
      return out;
    case 2: {
      const n = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < n; i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
      return out;
    }
    case 3: {
      // garble only the body, keep the header valid
      for (let i = 28; i < out.length; i++) if (rnd() < 0.05) out[i] = Math.floor(rnd() * 256);
      return out;
    }
    case 4: {
      const r = Buffer.alloc(Math.floor(rnd() * 200));
      for (let i = 0; i < r.length; i++) r[i] = Math.floor(rnd() * 256);
      if (r.length >= 4 && rnd() < 0.5) r.writeUInt32BE(r.length, 0);
      return r;
    }
    default: {
      // a huge count in the first array of the body
      if (out.length >= 32) out.writeUInt32BE(0xfffffff0, 28);
      return out;
    }
  }
}

function decodeBody(proc: number, type: number, status: number, body: Buffer): void {
  if (status === MessageStatus.ERROR) decodeRemoteError(body);
  else if (type === MessageType.MESSAGE) decodeEvent(proc, body);
  else if (proc === Proc.CONNECT_GET_ALL_DOMAIN_STATS) decodeAllStats(body);
  else {
    const r = new XdrReader(body);
    r.int();
    readTypedParams(r, 64);
    r.done('job stats');
  }
}

describe('decoder fuzzing', () => {
  it('12,000 bad frames raise only ProtocolError, never hang and keep memory flat', { timeout: 60_000 }, () => {
    const rnd = prng(20261125);
    const before = process.memoryUsage().heapUsed;
    let protocolErrors = 0;
    let decodedOk = 0;
    let waiting = 0;
    const N = 12_000;
    for (let i = 0; i < N; i++) {
      const frame = mutate(validFrame(rnd), rnd);
      const dec = new FrameDecoder(1 << 20);
      let got = false;
      try {
        // feed in random pieces, as a socket would
        let off = 0;
        while (off < frame.length) {
          const n = 1 + Math.floor(rnd() * frame.length);
          dec.push(frame.subarray(off, off + n), (f) => {
            got = true;
            decodeBody(f.header.procedure, f.header.type, f.header.status, f.body);
          });
          off += n;
        }
        if (got) decodedOk++;
        else waiting++;
        assert.ok(dec.pending <= frame.length);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `frame ${i}: ${String(e)}`);
        protocolErrors++;
      }
    }
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(protocolErrors > N / 3, `only ${protocolErrors} frames were refused`);
    assert.equal(protocolErrors + decodedOk + waiting, N);
    assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes`);
  });

  it('one long-lived decoder fed a stream of valid frames holds at most one partial frame', () => {
    const rnd = prng(7);
    const dec = new FrameDecoder(1 << 20);
    let frames = 0;
    let maxPending = 0;
    for (let i = 0; i < 2000; i++) {
      const f = validFrame(rnd);
      const cut = Math.floor(rnd() * f.length);
      dec.push(f.subarray(0, cut), () => frames++);
      maxPending = Math.max(maxPending, dec.pending);
      dec.push(f.subarray(cut), () => frames++);
    }
    assert.equal(frames, 2000);
    assert.equal(dec.pending, 0);
    assert.ok(maxPending < 4096);
  });

  it('a peer that sends garbage fails the pending call with ProtocolError at once, later calls with ConnectionClosedError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vem-fuzz-'));
    const path = join(dir, 'sock');
    const server = net.createServer((s) => {
      s.once('data', () => s.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4])));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const rpc = await RpcConnection.open({ path }, { uri: 'test+unix:///fuzz', timeoutMs: 10_000, keepaliveMs: 0 });
      const t0 = Date.now();
      await assert.rejects(rpc.call(59, undefined, (r) => r.string()), ProtocolError);
      assert.ok(Date.now() - t0 < 2000, 'the bad length was not refused before the timeout');
      await assert.rejects(rpc.call(59), ConnectionClosedError);
      assert.equal(rpc.alive, false);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reply that does not match its procedure fails that call with ProtocolError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vem-fuzz-'));
    const path = join(dir, 'sock');
    const server = net.createServer((s) => {
      const dec = new FrameDecoder();
      s.on('data', (c: Buffer) =>
        dec.push(c, (f) => {
          // a string length of 99 with no string after it
          s.write(encodeMessage({ program: REMOTE_PROGRAM, version: 1, procedure: f.header.procedure, type: MessageType.REPLY, serial: f.header.serial, status: MessageStatus.OK }, (ww) => ww.uint(99)));
        }),
      );
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const rpc = await RpcConnection.open({ path }, { uri: 'test+unix:///fuzz', timeoutMs: 5000, keepaliveMs: 0 });
      await assert.rejects(rpc.call(59, undefined, (r) => r.string()), ProtocolError);
      await rpc.close();
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
