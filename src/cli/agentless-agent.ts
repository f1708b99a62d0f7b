/** The agent's own code run in this process for an agentless node (registered with the link layer by the command table). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { LocalAgentRunner } from '../link/index.js';

/** Each agentless node's audit log on the front end: its changes are recorded as a resident agent's are. */
export function agentlessAuditLog(node: string): string {
  return join(process.env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state'), 'vem', 'agentless', node, 'audit.jsonl');
}

export const runLocalAgent: LocalAgentRunner = async (r) => {
  const [{ startAgent }, { connectLibvirt }] = await Promise.all([import('../agent/index.js'), import('../libvirt/client/index.js')]);
  const agent = await startAgent({
    hypervisor: () => connectLibvirt(r.libvirtUri),
    socket: join(r.dir, 'agent.sock'),
    auditLog: agentlessAuditLog(r.node),
    // The SSH link reconnects on its own; libvirt behind it should follow soon after.
    maxBackoffMs: 3000,
    guest: { resolveChannelPath: r.resolveChannelPath },
  });
  return { socketPath: agent.socketPath ?? join(r.dir, 'agent.sock'), close: () => agent.close() };
};
