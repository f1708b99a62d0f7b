/**
 * The node agent for fault tests, run inside a lab node's mount namespace (where
 * libvirt's channel sockets are at the paths the domain XML names):
 *   node dist/test/lab/fault-agent.js URI LISTEN [OPTIONS_JSON]
 * OPTIONS_JSON: startAgent options beyond hypervisor/listen (e.g. {"guest":{"timeoutMs":3000}}).
 * Prints "URL PID" on stdout; SIGTERM closes it.
 */
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent, type AgentOptions } from '../../src/agent/index.js';

async function main(): Promise<void> {
  const [uri, listen, json] = process.argv.slice(2);
  if (!uri || !listen) throw new Error('usage: fault-agent.js URI LISTEN [OPTIONS_JSON]');
  const extra = (json ? JSON.parse(json) : {}) as Partial<AgentOptions>;
  const a = await startAgent({ ...extra, hypervisor: () => connectLibvirt(uri, { timeoutMs: 20_000 }), listen });
  process.stdout.write(`${a.url} ${process.pid}\n`);
  const stop = (): void => {
    void a.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`fault-agent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
