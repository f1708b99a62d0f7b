/**
 * The real node agent for the guest end-to-end tests and benchmark, run INSIDE a
 * lab node's mount namespace (as on a real node, where the agent sees libvirt's
 * channel sockets at the paths the domain XML names):
 *   node dist/test/guest-agent/e2e/node-agent.js URI LISTEN
 * Prints "URL startAgent" on stdout once the agent serves the guest relay. There is
 * no fallback: if src/agent fails to load or never registers the relay, this exits
 * non-zero and the test that started it fails.
 */
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { startAgent } from '../../../src/agent/index.js';

async function main(): Promise<void> {
  const [uri, listen] = process.argv.slice(2);
  if (!uri || !listen) throw new Error('usage: node-agent.js URI LISTEN');
  const hv = await connectLibvirt(uri);
  const agent = await startAgent({ hypervisor: hv, listen });
  // The guest relay is registered once libvirt is up; wait for it rather than add one of our own.
  const deadline = Date.now() + 20_000;
  while (!agent.registry.has('guest.ping')) {
    if (Date.now() > deadline) throw new Error('the agent never registered guest.ping (is libvirt up?)');
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(`${agent.url} startAgent\n`);
  const stop = (): void => {
    void agent.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`node-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
