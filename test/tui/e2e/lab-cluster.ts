/**
 * A cluster file over lab nodes for `vem tui`: one resident agent per node, in
 * this test's process on 127.0.0.1 with a free port, talking to the libvirt URI
 * given for it; each entry carries the node's migrate-uri, since the agents'
 * local URIs mean nothing to the other node. The agents close with the test.
 */
import type { TestContext } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabNode } from '../../lab/index.js';
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { startAgent } from '../../../src/agent/index.js';

export interface LabClusterEntry {
  node: LabNode;
  /** The libvirt URI the node's agent uses (its QEMU or LXC unix socket). */
  uri: string;
  auditLog?: string;
}

/** Starts the agents and writes `<dir>/cluster.yaml`; returns its path. */
export async function labCluster(t: TestContext, dir: string, entries: LabClusterEntry[]): Promise<string> {
  const lines = ['nodes:'];
  for (const { node, uri, auditLog } of entries) {
    const agent = await startAgent({ hypervisor: () => connectLibvirt(uri), listen: '127.0.0.1:0', pollMs: 500, plugins: false, ...(auditLog ? { auditLog } : {}) });
    t.after(() => agent.close());
    lines.push(`  - name: ${node.name}`, `    url: ${agent.url}`, `    migrate-uri: ${node.qemuUri}`);
  }
  const cluster = join(dir, 'cluster.yaml');
  writeFileSync(cluster, lines.join('\n') + '\n');
  return cluster;
}
