// Domain XML for a lab LXC container: no image, the host root shared (no <filesystem>),
// /bin/sh as init running the given script, a pty console. Starts in well under a second.
export interface ContainerOptions {
  name: string;
  /** Shell run as the container's init; by default it sleeps forever. */
  script?: string;
  memoryMiB?: number;
  vcpus?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

export function containerDomainXml(o: ContainerOptions): string {
  const script = o.script ?? 'while :; do sleep 3600; done';
  return `<domain type='lxc'>
  <name>${esc(o.name)}</name>
  <memory unit='MiB'>${o.memoryMiB ?? 64}</memory>
  <vcpu>${o.vcpus ?? 1}</vcpu>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>-c</initarg>
    <initarg>${esc(script)}</initarg>
  </os>
  <devices>
    <console type='pty'/>
  </devices>
</domain>
`;
}

/** A container whose init burns one CPU (for live CPU % checks). */
export const BURN_SCRIPT = 'while :; do :; done';
