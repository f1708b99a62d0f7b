/**
 * The node agent's guest relay against a real libvirtd (the lab's test driver,
 * whose domain XML names the channel socket) and a real `vem guest-agent`
 * process listening on that socket as QEMU would: relayed calls, a stock
 * Python XML-RPC client, the agent gone ("no guest agent", with the
 * qemu-guest-agent fallback tried), reconnection when it is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { MethodRegistry } from '../../src/common/xmlrpc/registry.js';
import { startXmlRpcServer } from '../../src/common/xmlrpc/server.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/client.js';
import { XmlRpcFault } from '../../src/common/xmlrpc/codec.js';
import { isStruct } from '../../src/common/xmlrpc/value.js';
import { registerGuestMethods } from '../../src/agent/guest/index.js';
import { startChildAgent, tempDir } from './helpers.js';

const run = promisify(execFile);

function nodeXml(sock: string): string {
  const dom = (name: string, i: number, channels: string): string => `  <domain type='test'>
    <name>${name}</name>
    <uuid>6a6d0000-0000-4000-8000-00000000070${i}</uuid>
    <memory unit='MiB'>256</memory>
    <vcpu>1</vcpu>
    <os><type arch='i686'>hvm</type></os>
    <devices>
${channels}    </devices>
  </domain>
`;
  return `<node>
${dom('withagent', 1, `      <channel type='unix'><source mode='bind' path='${sock}'/><target type='virtio' name='org.vemanager.guest.0'/></channel>
      <channel type='unix'><source mode='bind' path='${sock}.qga'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
`)}${dom('noagent', 2, '')}</node>
`;
}

test('relay through a real libvirtd to a real guest agent on the channel socket', { timeout: 120_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'python3']) !== null) return;
  const dir = tempDir('relay');
  const lab = await startLab({ nodes: 1, name: 'guestrelay' });
  const n1 = lab.nodes[0];
  assert.ok(n1);
  let agent = await startChildAgent(dir);
  const file = join(dir, 'node.xml');
  writeFileSync(file, nodeXml(agent.socket));
  const hv = await connectLibvirt(n1.testUri(file));
  const registry = new MethodRegistry();
  const relay = registerGuestMethods(registry, hv, { timeoutMs: 3000 });
  const srv = await startXmlRpcServer({ registry, listen: `${n1.ip}:0` });
  t.after(async () => {
    await relay.close();
    await srv.close();
    await hv.close();
    await agent.kill();
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = new XmlRpcClient({ url: srv.url, timeoutMs: 10_000 });

  const ping = await c.call('guest.ping', 'withagent');
  assert.ok(isStruct(ping) && ping['pid'] === agent.proc.pid);
  const procs = await c.call('guest.processes', 'withagent');
  assert.ok(isStruct(procs) && (procs['count'] as number) > 5);
  const help = await c.call('system.methodHelp', 'guest.signal');
  assert.match(String(help), /first argument is the VM name/);

  // A stock client (Python's xmlrpc.client) calls the relay too.
  const py = await run('python3', ['-c', 'import sys,xmlrpc.client as x; s=x.ServerProxy(sys.argv[1]); print(s.guest.info("withagent")["os"]["id"], len(s.guest.users("withagent")["users"]))', srv.url]);
  assert.match(py.stdout, /^\S+ \d+\n$/);

  // No channel in the domain XML: a clear "no guest agent" fault.
  await assert.rejects(c.call('guest.processes', 'noagent'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404 && /no guest agent in vm 'noagent'/.test(e.message));
  assert.deepEqual(await c.call('guest.status', 'noagent').then((s) => isStruct(s) && s['agent']), 'none');

  // The guest agent dies: calls fail clearly, the qemu-guest-agent fallback was tried and said why it could not help.
  await agent.kill('SIGKILL');
  await assert.rejects(c.call('guest.info', 'withagent'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404 && /qemu-guest-agent did not answer either/.test(e.message));
  await assert.rejects(c.call('guest.signal', 'withagent', 1234, 'SIGTERM'), (e: unknown) => e instanceof XmlRpcFault && e.code === 404);
  const st = await c.call('guest.status', 'withagent');
  assert.ok(isStruct(st) && st['agent'] === 'none' && typeof st['detail'] === 'string');

  // It comes back (a guest reboot): the relay reconnects by itself.
  agent = await startChildAgent(dir, [], agent.socket);
  const again = await c.call('guest.ping', 'withagent');
  assert.ok(isStruct(again) && again['pid'] === agent.proc.pid);
});
