/**
 * The libvirt URI a source node's libvirtd migrates a VM to. libvirt connects
 * from the source host itself (peer-to-peer), so the target's own local URI
 * (qemu:///system) means nothing there. In order: the cluster file's
 * `migrate-uri` for the target; for a node reached by SSH, the same driver over
 * libvirt's ssh transport to that host (qemu+ssh://host/system); the URI the
 * target's agent reports when it is not local (sim://, qemu+tcp://...); else
 * the driver over TCP to the hostname the agent reports. Pure.
 */
export interface MigrationTarget {
  node: string;
  /** `migrate-uri` from the cluster file. */
  configured?: string;
  /** The host of the node's `ssh:` entry. */
  sshHost?: string;
  /** The libvirt URI the target's agent reports (node.info). */
  reported?: string;
  /** The target's hostname as its agent reports it. */
  hostname?: string;
}

const LOCAL = /^([a-z]+)(?:\+unix)?:\/\/\/(system|session)\b/;

export function migrationUri(t: MigrationTarget): string {
  if (t.configured) return t.configured;
  const local = t.reported ? LOCAL.exec(t.reported) : null;
  const driver = local?.[1] ?? (t.reported ? /^([a-z]+)/.exec(t.reported)?.[1] : undefined) ?? 'qemu';
  const path = local?.[2] ?? 'system';
  if (t.reported && !local) return t.reported;
  if (t.sshHost) return `${driver}+ssh://${t.sshHost}/${path}`;
  if (t.hostname) return `${driver}+tcp://${t.hostname}/${path}`;
  return t.reported ?? `${driver}:///${path}`;
}

/** A libvirt URI as the cluster file may give it: driver[+transport]://[user@]host[:port]/path[?query]. */
export function migrateUriProblem(uri: string): string | undefined {
  if (!/^[a-z]+(\+[a-z]+)?:\/\/[^/\s]+\/[^\s]*$/.test(uri)) return `'${uri}' is not a remote libvirt URI like qemu+ssh://host/system or qemu+tls://host/system`;
  return undefined;
}
