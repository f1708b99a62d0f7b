// The libvirt domain XML for the lab's test guest: TCG (no KVM here or in CI),
// direct kernel boot, serial console on a pty, the guest agent's virtio-serial
// channel and a virtio balloon with stats.
export interface GuestDomainOptions {
  name: string;
  kernel: string;
  initrd: string;
  memoryMiB?: number;
  vcpus?: number;
  vnc?: boolean;
  channelName?: string;
  /** Extra kernel command-line words. */
  cmdline?: string;
}

export const GUEST_CHANNEL = 'org.vemanager.guest.0';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

export function guestDomainXml(o: GuestDomainOptions): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.name)) throw new Error(`guest name '${o.name}' must be letters, digits, '.', '_' or '-'`);
  const mem = o.memoryMiB ?? 512;
  const vcpus = o.vcpus ?? 1;
  const cmdline = `console=ttyS0 panic=-1 quiet${o.cmdline ? ` ${o.cmdline}` : ''}`;
  return `<domain type='qemu'>
  <name>${o.name}</name>
  <memory unit='MiB'>${mem}</memory>
  <currentMemory unit='MiB'>${mem}</currentMemory>
  <vcpu placement='static'>${vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${esc(o.kernel)}</kernel>
    <initrd>${esc(o.initrd)}</initrd>
    <cmdline>${esc(cmdline)}</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='${esc(o.channelName ?? GUEST_CHANNEL)}'/>
    </channel>
${o.vnc === true ? "    <graphics type='vnc' port='-1' autoport='yes'/>\n    <video><model type='cirrus'/></video>\n" : ''}    <memballoon model='virtio'><stats period='2'/></memballoon>
  </devices>
</domain>
`;
}
