/** Finding a VM's guest-agent channel in its live domain XML (pure). */

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:'([^']*)'|"([^"]*)")`).exec(tag);
  const v = m?.[1] ?? m?.[2];
  return v === undefined ? undefined : v.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export interface ChannelInfo {
  path: string;
  /** 'connected' | 'disconnected' when QEMU reports whether the guest side has the port open. */
  state?: string;
}

/**
 * The unix socket of the virtio channel named `name`: `<channel type='unix'>
 * <source mode='bind' path='...'/><target type='virtio' name='...' state='...'/>`.
 * null when the VM has no such channel (or libvirt has not filled the path in: not running).
 */
export function findChannel(xml: string, name: string): ChannelInfo | null {
  const re = /<channel\b([^>]*)>([\s\S]*?)<\/channel>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    if (attr(m[1] ?? '', 'type') !== 'unix') continue;
    const body = m[2] ?? '';
    const target = /<target\b[^>]*>/.exec(body)?.[0];
    if (!target || attr(target, 'type') !== 'virtio' || attr(target, 'name') !== name) continue;
    const source = /<source\b[^>]*>/.exec(body)?.[0];
    const path = source ? attr(source, 'path') : undefined;
    if (!path) return null;
    return { path, state: attr(target, 'state') };
  }
  return null;
}

/** Whether the VM has a qemu-guest-agent channel at all. */
export function hasQemuAgentChannel(xml: string): boolean {
  return /<target\b[^>]*name\s*=\s*['"]org\.qemu\.guest_agent\.0['"]/.test(xml);
}
