// Readers for virsh's human output, so tests can compare the client with libvirt's own C client.

/** `virsh list --all` rows (without -q headers): id ('-' when off), name, state words. */
export function parseList(out: string): Array<{ id: number; name: string; state: string }> {
  const rows: Array<{ id: number; name: string; state: string }> = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (!m) continue;
    rows.push({ id: m[1] === '-' ? -1 : Number(m[1]), name: m[2] as string, state: m[3] as string });
  }
  return rows;
}

/** `virsh dominfo` "Key:   value" lines. */
export function parseKeyValues(out: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) o[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return o;
}

/** `virsh domstats --raw`: domain name → field → raw text value. */
export function parseDomstats(out: string): Map<string, Record<string, string>> {
  const res = new Map<string, Record<string, string>>();
  let cur: Record<string, string> | null = null;
  for (const line of out.split('\n')) {
    const d = /^Domain: '(.*)'$/.exec(line.trim());
    if (d) {
      cur = {};
      res.set(d[1] as string, cur);
      continue;
    }
    const kv = /^\s+([^=]+)=(.*)$/.exec(line);
    if (kv && cur) cur[kv[1] as string] = kv[2] as string;
  }
  return res;
}

/** virsh's state words for our DomainState values. */
export const VIRSH_STATE: Record<string, string> = {
  running: 'running',
  paused: 'paused',
  shutoff: 'shut off',
  shutdown: 'in shutdown',
  blocked: 'idle',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
  nostate: 'no state',
};
