/**
 * The framed channel over a real unix socket to a real `vem guest-agent`
 * process: calls, garbage and malformed frames, the agent killed mid-call,
 * the channel closed: clear errors and no crash on either side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { GuestChannel, NoGuestAgentError } from '../../src/agent/guest/channel.js';
import { encodeFrame, FrameDecoder } from '../../src/common/guest-framing.js';
import { decodeResponse, encodeCall, XmlRpcFault } from '../../src/common/xmlrpc/codec.js';
import { isStruct } from '../../src/common/xmlrpc/value.js';
import { startChildAgent, tempDir } from './helpers.js';

/** Sends raw bytes on a fresh connection and collects reply frames until `want` arrived. */
async function raw(path: string, bytes: Buffer, want: number): Promise<Array<{ id: number; body: string }>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    const d = new FrameDecoder();
    const got: Array<{ id: number; body: string }> = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`only ${got.length} of ${want} replies`));
    }, 10_000);
    s.on('connect', () => s.write(bytes));
    s.on('data', (c: Buffer) => {
      for (const f of d.push(c)) got.push({ id: f.id, body: f.body.toString() });
      if (got.length >= want) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

test('calls over the framed channel, concurrent and in any order', async () => {
  const dir = tempDir('transport');
  const agent = await startChildAgent(dir);
  try {
    const ch = new GuestChannel(agent.socket, 'vm test');
    await ch.connect(2000);
    const [ping, procs, methods] = await Promise.all([
      ch.call('guest.ping', [], 5000),
      ch.call('guest.processes', [{ intervalMs: 50 }], 5000),
      ch.call('system.listMethods', [], 5000),
    ]);
    assert.ok(isStruct(ping) && ping['agent'] === 'vem-guest-agent' && ping['pid'] === agent.proc.pid);
    assert.ok(isStruct(procs) && Array.isArray(procs['processes']));
    assert.ok((procs['processes'] as unknown[]).some((p) => isStruct(p as never) && (p as Record<string, unknown>)['pid'] === agent.proc.pid));
    assert.ok(Array.isArray(methods) && methods.includes('guest.userAdd'));
    await assert.rejects(ch.call('guest.nope', [], 5000), (e: unknown) => e instanceof XmlRpcFault && e.code === -32601);
    ch.close();
    await assert.rejects(ch.call('guest.ping', [], 1000), NoGuestAgentError);
  } finally {
    await agent.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage and malformed frames get skipped or a fault; the agent keeps serving', async () => {
  const dir = tempDir('garbage');
  const agent = await startChildAgent(dir);
  try {
    const ping = encodeFrame(41, encodeCall('guest.ping', []));
    const notXml = encodeFrame(42, 'this is not XML <<<');
    const entity = encodeFrame(43, '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><methodCall><methodName>&x;</methodName></methodCall>');
    const oversized = Buffer.from('VGA1\0\0\0\x09\xff\xff\xff\xff', 'latin1');
    const replies = await raw(agent.socket, Buffer.concat([Buffer.from('\x00\x01garbage\n'), oversized, notXml, Buffer.from('more junk'), entity, ping]), 3);
    const byId = new Map(replies.map((r) => [r.id, r.body]));
    assert.deepEqual([...byId.keys()].sort(), [41, 42, 43]);
    assert.throws(() => decodeResponse(byId.get(42) ?? ''), (e: unknown) => e instanceof XmlRpcFault && e.code === -32700);
    assert.throws(() => decodeResponse(byId.get(43) ?? ''), XmlRpcFault);
    const ok = decodeResponse(byId.get(41) ?? '');
    assert.ok(isStruct(ok) && ok['agent'] === 'vem-guest-agent');
    // Still alive and serving a fresh connection.
    const again = await raw(agent.socket, encodeFrame(1, encodeCall('guest.ping', [])), 1);
    assert.equal(again[0]?.id, 1);
    assert.equal(agent.proc.exitCode, null);
  } finally {
    await agent.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the agent killed mid-call: the pending call fails clearly, and a restarted agent serves again', async () => {
  const dir = tempDir('kill');
  let agent = await startChildAgent(dir);
  try {
    const ch = new GuestChannel(agent.socket, "vm 'g1'");
    await ch.connect(2000);
    // A processes call with a 3 s CPU sample is still running when the agent dies.
    const pending = ch.call('guest.processes', [{ intervalMs: 3000 }], 10_000).then(() => null, (e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    await agent.kill('SIGKILL');
    const err = await pending;
    assert.ok(err instanceof NoGuestAgentError && /closed during the call/.test(err.message) && err.code === 404, String(err));
    assert.equal(ch.isOpen, false);
    await assert.rejects(ch.call('guest.ping', [], 1000), /closed/);
    // Nothing listens now: connecting fails with a clear error.
    await assert.rejects(new GuestChannel(agent.socket, "vm 'g1'").connect(1000), (e: unknown) => e instanceof NoGuestAgentError && /cannot connect/.test(e.message));
    agent = await startChildAgent(dir);
    const ch2 = new GuestChannel(agent.socket, "vm 'g1'");
    await ch2.connect(2000);
    const r = await ch2.call('guest.ping', [], 5000);
    assert.ok(isStruct(r) && r['pid'] === agent.proc.pid);
    ch2.close();
  } finally {
    await agent.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a call the guest does not answer in time times out, and its late reply does not answer the next call', async () => {
  const dir = tempDir('late');
  const path = `${dir}/silent.sock`;
  // A peer that answers only the second request, and answers the first one late, after it.
  let seen = 0;
  const srv = net.createServer((s) => {
    const d = new FrameDecoder();
    const held: number[] = [];
    s.on('data', (c: Buffer) => {
      for (const f of d.push(c)) {
        seen++;
        if (seen === 1) {
          // Something comes back (a stray reply to no call), so the channel is not reset as silent.
          held.push(f.id);
          s.write(encodeFrame(999_999, '<?xml version="1.0"?><methodResponse><params><param><value><string>stray</string></value></param></params></methodResponse>'));
          continue;
        }
        s.write(encodeFrame(held[0] ?? 0, '<?xml version="1.0"?><methodResponse><params><param><value><string>stale</string></value></param></params></methodResponse>'));
        s.write(encodeFrame(f.id, '<?xml version="1.0"?><methodResponse><params><param><value><string>fresh</string></value></param></params></methodResponse>'));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(path, () => r()));
  try {
    const ch = new GuestChannel(path, 'vm late');
    await ch.connect(1000);
    await assert.rejects(ch.call('guest.ping', [], 200), (e: unknown) => e instanceof NoGuestAgentError && /did not answer guest.ping within 200 ms/.test(e.message));
    assert.equal(ch.isOpen, true, 'bytes came back: the channel stays');
    assert.equal(await ch.call('guest.ping', [], 2000), 'fresh');
    assert.equal(ch.staleReplies, 2);
    ch.close();
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a call to which not a byte comes back resets the channel: our end closes (QEMU then resets a port it kept throttled), and a new connection is answered', async () => {
  const dir = tempDir('silent');
  const path = `${dir}/silent.sock`;
  // The first connection takes requests and never answers (a port QEMU keeps throttled); later ones answer.
  let connections = 0;
  let firstClosed = false;
  const srv = net.createServer((s) => {
    const n = ++connections;
    if (n === 1) s.on('close', () => (firstClosed = true));
    const d = new FrameDecoder();
    s.on('data', (c: Buffer) => {
      for (const f of d.push(c)) if (n > 1) s.write(encodeFrame(f.id, '<?xml version="1.0"?><methodResponse><params><param><value><string>pong</string></value></param></params></methodResponse>'));
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(path, () => r()));
  try {
    const ch = new GuestChannel(path, 'vm stuck');
    await ch.connect(1000);
    await assert.rejects(ch.call('guest.ping', [], 200), (e: unknown) => e instanceof NoGuestAgentError && /did not answer guest.ping within 200 ms; not a byte came back, so the channel is reopened/.test(e.message));
    assert.equal(ch.isOpen, false, 'our end closed');
    await assert.rejects(ch.call('guest.ping', [], 200), (e: unknown) => e instanceof NoGuestAgentError && /the channel was reset/.test(e.message), 'the old channel says why it is closed');
    for (let i = 0; i < 50 && !firstClosed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(firstClosed, true, 'the peer saw the connection end');
    const again = new GuestChannel(path, 'vm stuck');
    await again.connect(1000);
    assert.equal(await again.call('guest.ping', [], 2000), 'pong');
    again.close();
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
