/** The front end's transport to node agents: SSH tunnels (ssh2) or direct HTTP(S), behind one NodeLink interface. */
import { VemError } from '../common/errors.js';
import { readNodeFiles } from './cluster-file.js';
import { DirectLink, type DirectLinkOptions } from './direct-link.js';
import { SshLink, type SshLinkOptions } from './ssh-link.js';
import { AgentlessLink } from './agentless.js';
import type { NodeConfig, NodeLink } from './types.js';

export type { AgentAddress, ClusterConfig, LinkState, LocalForward, NodeConfig, NodeLink, PendingHostKey } from './types.js';
export { loadClusterFile, parseClusterFile, defaultClusterPath, ClusterFileError, parseAgentAddress, parseSshSpec } from './cluster-file.js';
export { LinkDownError } from './link-base.js';
export { terminalPassphrase, type AskPassphrase } from './ssh-auth.js';
export { SshLink, type SshLinkOptions } from './ssh-link.js';
export { DirectLink, type DirectLinkOptions } from './direct-link.js';
export { AgentlessLink } from './agentless.js';
export { setLocalAgentLoader, type LocalAgentRunner, type LocalAgentRequest, type LocalAgent } from './agentless-host.js';
export { findVmDisplay, parseGraphics, type VmDisplay } from './vnc.js';

export type LinkOptions = SshLinkOptions & DirectLinkOptions;

/** A node's link as its cluster-file entry says: SSH when it has `ssh:`, direct HTTP(S) when it has `url:`. */
export function openLink(node: NodeConfig, o: LinkOptions = {}): NodeLink {
  if (node.agentless) return new AgentlessLink(node, o);
  if (node.ssh) return new SshLink(node, o);
  if (node.url) {
    const f = readNodeFiles(node);
    return new DirectLink(node.name, node.url, f.token, { ...o, ...(f.ca ? { ca: f.ca } : {}), ...(f.problem ? { problem: f.problem } : {}) });
  }
  throw new VemError(`node ${node.name}: neither ssh: nor url: is set`);
}

export function openDirectLink(name: string, url: string, token?: string, o: DirectLinkOptions = {}): NodeLink {
  return new DirectLink(name, url, token, o);
}
