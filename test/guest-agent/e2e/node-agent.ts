/**
 * A node agent for the guest end-to-end tests and benchmark, run INSIDE a lab
 * node's mount namespace (as on a real node, where the agent sees libvirt's
 * channel sockets at the paths the domain XML names):
 *   node dist/test/guest-agent/e2e/node-agent.js URI LISTEN
 * Prints its URL on stdout. Uses startAgent (src/agent/index.ts) when it is
 * there; otherwise a registry with the guest relay on the shared XML-RPC server.
 */
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { MethodRegistry } from '../../../src/common/xmlrpc/registry.js';
import { startXmlRpcServer } from '../../../src/common/xmlrpc/server.js';
import { registerGuestMethods } from '../../../src/agent/guest/index.js';
import type { Hypervisor } from '../../../src/libvirt/hypervisor.js';

interface AgentModule {
  startAgent?: (o: { hypervisor: Hypervisor; listen: string }) => Promise<{ url: string; registry: MethodRegistry; close(): Promise<void> }>;
}

async function main(): Promise<void> {
  const [uri, listen] = process.argv.slice(2);
  if (!uri || !listen) throw new Error('usage: node-agent.js URI LISTEN');
  const hv = await connectLibvirt(uri);
  let url: string;
  let close: () => Promise<void>;
  let how: string;
  const mod = (await import(new URL('../../../src/agent/index.js', import.meta.url).href).catch(() => ({}))) as AgentModule;
  if (typeof mod.startAgent === 'function') {
    const a = await mod.startAgent({ hypervisor: hv, listen });
    const relay = a.registry.has('guest.ping') ? null : registerGuestMethods(a.registry, hv);
    url = a.url;
    how = relay ? 'startAgent + registerGuestMethods' : 'startAgent';
    close = async () => {
      await relay?.close();
      await a.close();
    };
  } else {
    const registry = new MethodRegistry();
    const relay = registerGuestMethods(registry, hv);
    const srv = await startXmlRpcServer({ registry, listen });
    url = srv.url;
    how = 'registry + registerGuestMethods';
    close = async () => {
      await relay.close();
      await srv.close();
      await hv.close();
    };
  }
  process.stdout.write(`${url} ${how}\n`);
  const stop = (): void => {
    void close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`node-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
