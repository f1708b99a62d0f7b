/** The front end's view of one node: a link to its agent, whatever carries it (SSH tunnel or direct HTTP(S)). */
import type { Duplex } from 'node:stream';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';

export type { XmlRpcValue };

export type LinkState = 'connecting' | 'up' | 'down' | 'auth-failed' | 'hostkey-refused' | 'hostkey-unknown';

/** A host key the link met and could not vouch for (state 'hostkey-unknown'), offered to the admin to trust. */
export interface PendingHostKey {
  /** The name as written to known_hosts: `host` or `[host]:port`. */
  hostPattern: string;
  keyType: string;
  /** OpenSSH's form: `SHA256:` + unpadded base64 of the SHA-256 of the key blob. */
  fingerprint: string;
  /** The whole known_hosts line that trusting appends. */
  knownHostsLine: string;
  /** The file trusting appends to (the first UserKnownHostsFile). */
  knownHostsFile: string;
}

export interface NodeLink {
  readonly name: string;
  readonly state: LinkState;
  /** Why the link is in its state, in words for the admin (e.g. the refused fingerprint). */
  readonly detail?: string;
  /** Set while the state is 'hostkey-unknown'. */
  readonly pendingHostKey?: PendingHostKey;
  on(ev: 'state', cb: (s: LinkState, detail?: string) => void): void;
  off?(ev: 'state', cb: (s: LinkState, detail?: string) => void): void;
  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue>;
  /** The agent's serial-console upgrade for a VM: raw bytes both ways; `force` takes over a session someone else holds. */
  openConsole(vm: string, opts?: { force?: boolean }): Promise<Duplex>;
  /** A local 127.0.0.1 listener whose connections go to remoteHost:remotePort as seen from the node. */
  forwardLocal?(remoteHost: string, remotePort: number): Promise<LocalForward>;
  /** Appends the pending host key to known_hosts and connects again. */
  trustHostKey?(): Promise<void>;
  /** Try now instead of waiting for the next backoff step (also leaves auth-failed / hostkey-* states). */
  reconnect?(): void;
  close(): Promise<void>;
}

export interface LocalForward {
  host: '127.0.0.1';
  port: number;
  close(): void;
}

/** Where the agent listens, as seen on the node. */
export type AgentAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface NodeConfig {
  name: string;
  /** `user@host[:port]` or an ~/.ssh/config alias; absent for direct-URL nodes. */
  ssh?: string;
  /** Identity file (already ~-expanded). */
  identity?: string;
  agent: AgentAddress;
  labels: string[];
  /** Direct HTTP(S) nodes: the agent's URL and the file holding its token. */
  url?: string;
  tokenFile?: string;
  /** PEM file of the CA that signed a direct agent's certificate (self-signed agents). */
  caFile?: string;
  /** The libvirt URI other nodes' libvirtd migrate VMs to (qemu+ssh://host/system, qemu+tls://...). */
  migrateUri?: string;
  /** `agent: none`: no resident agent; the front end runs the agent's code for this node over its SSH link. */
  agentless?: boolean;
  /** The node's libvirt URI as seen on the node (`uri:`; default qemu:///system): the agentless driver, and what a resident agent there would be given. */
  uri?: string;
}

export interface ClusterConfig {
  /** The file it came from (for messages). */
  path: string;
  name?: string;
  nodes: NodeConfig[];
}
