/**
 * Who runs the agent's code for an agentless node. The link layer sits below the
 * agent, so it cannot import it: the command line registers a loader here (lazily,
 * so commands that never meet an agentless node never load the agent).
 */
import { VemError } from '../common/errors.js';
import { parseLibvirtUri } from '../libvirt/uri.js';

export interface LocalAgentRequest {
  node: string;
  /** The libvirt URI the agent opens: the node's driver through a local relay socket. */
  libvirtUri: string;
  /** A private 0700 folder of the front end's user for this node's sockets. */
  dir: string;
  /** Maps a guest channel path on the node to a local relay socket reaching it. */
  resolveChannelPath(path: string): string;
}

export interface LocalAgent {
  /** The in-process agent's unix socket (in `dir`, 0600). */
  socketPath: string;
  close(): Promise<void>;
}

export type LocalAgentRunner = (r: LocalAgentRequest) => Promise<LocalAgent>;

let loader: (() => Promise<LocalAgentRunner>) | undefined;

export function setLocalAgentLoader(l: () => Promise<LocalAgentRunner>): void {
  loader = l;
}

export function localAgentRunner(): Promise<LocalAgentRunner> {
  if (!loader) return Promise.reject(new VemError('agentless nodes need the agent code in this process, and none was registered', 'run through the vem command (its command table registers it)'));
  return loader();
}

/** The default driver of an agentless node when the cluster file gives no `uri:`. */
export const DEFAULT_NODE_URI = 'qemu:///system';

/** libvirt's modular daemon for a driver (remote_sockets.c): its socket is tried after libvirtd's. */
const MODULAR: Record<string, string> = { qemu: 'virtqemud', lxc: 'virtlxcd', xen: 'virtxend', libxl: 'virtxend', vbox: 'virtvboxd', ch: 'virtchd', bhyve: 'virtbhyved', vz: 'virtvzd' };

/**
 * The sockets on the node to try, in order, as libvirt's own ssh transport does:
 * the `socket=` the URI names, else libvirtd's (or virtproxyd's) libvirt-sock, then
 * the driver's modular daemon.
 */
export function libvirtSocketCandidates(uri: string): string[] {
  const u = parseLibvirtUri(uri);
  const given = u.params['socket'];
  if (given !== undefined && given !== '') return [given];
  const out = ['/var/run/libvirt/libvirt-sock'];
  const mod = MODULAR[u.driver];
  if (mod) out.push(`/var/run/libvirt/${mod}-sock`);
  return out;
}

/** The URI the in-process agent opens: same driver, path and daemon parameters, through the local relay socket. */
export function relayedUri(uri: string, relaySocket: string): string {
  const u = parseLibvirtUri(uri);
  const kept = Object.entries(u.params).filter(([k]) => k !== 'socket');
  const q = [...kept, ['socket', relaySocket] as const].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return `${u.driver}+unix://${u.path}?${q}`;
}

/** What an agentless node lacks next to a resident agent, for the node list. */
export function agentlessNote(since: number): string {
  const t = new Date(since).toTimeString().slice(0, 5);
  return `agentless: history since ${t} only; level-1 balancing only while vem runs (a resident agent keeps both)`;
}
