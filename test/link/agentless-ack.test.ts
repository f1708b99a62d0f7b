// agentless-ack.ts leans on an ssh2 internal (windowAdjust in lib/Channel.js) to ACK libvirt's
// replies at once. These fail if an ssh2 upgrade moves or changes it: then agentless vm.info
// would silently fall back to ~40 ms a call (the delayed ACK the node's sshd waits for).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import ssh2 from 'ssh2';
import { ackEachBurst, ssh2WindowAdjust } from '../../src/link/agentless-ack.js';

test("ssh2 still has its window top-up where agentless-ack.ts looks for it (lib/Channel.js's windowAdjust)", () => {
  assert.equal(typeof ssh2WindowAdjust(), 'function', 'ssh2/lib/Channel.js exports windowAdjust');
});

/** An in-process ssh2 server on loopback that answers one stream-local channel with `reply`. */
async function server(reply: Buffer): Promise<{ port: number; channel: Promise<{ ch: Duplex & { outgoing: { window: number } }; windowAtOpen: number }>; close(): void }> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  let resolveCh!: (v: { ch: Duplex & { outgoing: { window: number } }; windowAtOpen: number }) => void;
  const channel = new Promise<{ ch: Duplex & { outgoing: { window: number } }; windowAtOpen: number }>((r) => (resolveCh = r));
  const srv = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => undefined);
    client.on('openssh.streamlocal', (accept) => {
      const ch = accept() as unknown as Duplex & { outgoing: { window: number } };
      const windowAtOpen = ch.outgoing.window;
      // Written at once: it reaches the client before anything there pipes the channel.
      ch.write(reply);
      resolveCh({ ch, windowAtOpen });
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { port: (srv.address() as AddressInfo).port, channel, close: () => srv.close() };
}

test('a channel hands back the window it consumed after a burst, before what this end sends next, and loses none of the burst', { timeout: 30_000 }, async () => {
  const reply = Buffer.from('a small libvirt reply, the kind sshd holds behind Nagle'.repeat(3));
  const s = await server(reply);
  const c = new ssh2.Client();
  try {
    c.connect({ host: '127.0.0.1', port: s.port, username: 'u', password: 'p' });
    await once(c, 'ready');
    const ch = await new Promise<Duplex>((resolve, reject) => c.openssh_forwardOutStreamLocal('/run/libvirt/libvirt-sock', (err, st) => (err ? reject(err) : resolve(st))));
    ackEachBurst(ch);
    // As the relay does: pipe only after the open resolved (a turn later).
    await new Promise((r) => setImmediate(r));
    const out = new PassThrough();
    ch.pipe(out);
    let got = Buffer.alloc(0);
    for await (const chunk of out) {
      got = Buffer.concat([got, chunk as Buffer]);
      if (got.length >= reply.length) break;
    }
    assert.deepEqual(got, reply, 'the burst arrives whole, even though it came before the pipe');
    const { ch: sch, windowAtOpen } = await s.channel;
    // What this end sends next goes out after the top-up (same SSH connection, in order):
    // once the server has it, the server's view of the window must be whole again.
    const marker = once(sch, 'data');
    setImmediate(() => ch.write('x'));
    await marker;
    assert.equal(sch.outgoing.window, windowAtOpen, `the ${reply.length} bytes read were handed back at once (ssh2 alone waits until half of the 2 MiB window is used)`);
    ch.destroy();
  } finally {
    c.end();
    s.close();
  }
});

test('no window goes back while the reader is behind (ssh2 set _waitChanDrain), and other streams are left alone', async () => {
  const calls: number[] = [];
  const fake = Object.assign(new PassThrough(), { incoming: { window: 100 }, outgoing: { state: 'open' }, _waitChanDrain: true });
  ackEachBurst(fake, (c) => calls.push(c.incoming.window));
  fake.resume();
  fake.write('data');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, [], 'flow control still holds');
  fake._waitChanDrain = false;
  fake.write('more');
  fake.write('and more');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, [100], 'one top-up for the burst, not one per packet');
  const plain = new PassThrough();
  assert.equal(ackEachBurst(plain, () => assert.fail('not an ssh2 channel')), plain);
  assert.equal(plain.readableFlowing, null, 'a stream that is not an ssh2 channel is not paused or read');
});
