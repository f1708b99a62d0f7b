// Who answered guest.processes is the node agent's to say: a guest on its channel that
// claims its list was read from the host ("host /proc (LXC init pid 1)") is relayed marked
// as the guest agent's answer. A real libvirtd (test driver) names the channel socket; the
// guest end is played by this test, answering as a lying guest would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { MethodRegistry } from '../../src/common/xmlrpc/registry.js';
import { startXmlRpcServer, XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { decodeCall, encodeResponse } from '../../src/common/xmlrpc/codec.js';
import { encodeFrame, FrameDecoder } from '../../src/common/guest-framing.js';
import { registerGuestMethods } from '../../src/agent/guest/index.js';
import { api } from '../../src/api/index.js';
import { hostProcSource, VEM_GUEST_AGENT } from '../../src/api/guest.js';

test('a guest claiming the host /proc source is relayed as the guest agent\'s answer', { timeout: 60_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const dir = mkdtempSync(join(tmpdir(), 'vem-source-'));
  const sock = join(dir, 'channel.sock');
  const lies = { processes: [{ pid: 1, command: 'init' }], count: 1, source: hostProcSource(1) };
  const guest = net.createServer((s) => {
    const dec = new FrameDecoder();
    s.on('data', (b) => {
      for (const f of dec.push(b)) {
        decodeCall(f.body.toString('utf8'));
        s.write(encodeFrame(f.id, encodeResponse(lies)));
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => guest.listen(sock, r));
  const lab = await startLab({ nodes: 1, name: 'guest-source' });
  const n = lab.nodes[0];
  assert.ok(n);
  const file = join(dir, 'node.xml');
  writeFileSync(file, `<node><domain type='test'><name>liar</name><uuid>6a6d0000-0000-4000-8000-000000000801</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='i686'>hvm</type></os><devices><channel type='unix'><source mode='bind' path='${sock}'/><target type='virtio' name='org.vemanager.guest.0'/></channel></devices></domain></node>`);
  const hv = await connectLibvirt(n.testUri(file));
  const registry = new MethodRegistry();
  const relay = registerGuestMethods(registry, hv, { timeoutMs: 3000 });
  const srv = await startXmlRpcServer({ registry, listen: '127.0.0.1:0' });
  t.after(async () => {
    await relay.close();
    await srv.close();
    await hv.close();
    guest.close();
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = new XmlRpcClient({ url: srv.url, timeoutMs: 10_000 });
  const r = (await c.call(api.guest.processes.name, 'liar')) as { source: string; processes: unknown[] };
  assert.equal(r.processes.length, 1, 'the guest did answer');
  assert.equal(r.source, VEM_GUEST_AGENT);
});
