// A node file for libvirt's test driver (test+unix:///PATH?socket=...): many domains,
// some running, storage pools with volumes and networks, in the format of libvirt's
// examples/xml/test/testnode.xml. Deterministic for a given size, so tests can compare.
import { writeFileSync } from 'node:fs';

export interface TestNodeOptions {
  domains: number;
  /** How many of the domains run (the first ones); default: half, rounded up. */
  running?: number;
  /** Name prefix of the domains; default "vm". */
  prefix?: string;
}

const TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0';
const SHUTOFF = 5; // virDomainState VIR_DOMAIN_SHUTOFF

function uuidFor(kind: number, i: number): string {
  const hex = (kind * 0x100000 + i).toString(16).padStart(12, '0');
  return `6a6d0000-0000-4000-8000-${hex}`;
}

export function testDomainName(i: number, prefix = 'vm'): string {
  return `${prefix}-${String(i + 1).padStart(4, '0')}`;
}

function mac(i: number): string {
  const b = [(i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff].map((x) => x.toString(16).padStart(2, '0'));
  return `52:54:00:${b.join(':')}`;
}

function domainXml(i: number, running: boolean, prefix: string): string {
  const name = testDomainName(i, prefix);
  const memMiB = [512, 1024, 2048, 4096][i % 4] ?? 1024;
  const vcpus = (i % 4) + 1;
  return `  <domain type='test' xmlns:test='${TEST_NS}'>
    <name>${name}</name>
    <uuid>${uuidFor(1, i)}</uuid>
    <memory unit='MiB'>${memMiB}</memory>
    <currentMemory unit='MiB'>${memMiB}</currentMemory>
    <vcpu placement='static'>${vcpus}</vcpu>
    <os><type arch='i686'>hvm</type><boot dev='hd'/></os>
    <on_poweroff>destroy</on_poweroff>
    <on_reboot>restart</on_reboot>
    <on_crash>destroy</on_crash>
    <devices>
      <disk type='file' device='disk'>
        <source file='/var/lib/vem-test/images/${name}.qcow2'/>
        <target dev='vda' bus='virtio'/>
      </disk>
      <interface type='network'>
        <mac address='${mac(i)}'/>
        <source network='default'/>
        <model type='virtio'/>
      </interface>
      <memballoon model='virtio'/>
    </devices>
${running ? '' : `    <test:runstate>${SHUTOFF}</test:runstate>\n`}  </domain>
`;
}

function volumeXml(name: string, dir: string, capGiB: number, allocMiB: number): string {
  return `    <volume type='file'>
      <name>${name}</name>
      <key>${dir}/${name}</key>
      <capacity unit='GiB'>${capGiB}</capacity>
      <allocation unit='MiB'>${allocMiB}</allocation>
      <target><path>${dir}/${name}</path><format type='qcow2'/></target>
    </volume>
`;
}

/** The XML text (see writeTestNodeXml). */
export function testNodeXml(o: TestNodeOptions): string {
  if (!Number.isInteger(o.domains) || o.domains < 0) throw new RangeError(`domains must be a whole number >= 0, got ${o.domains}`);
  const running = o.running ?? Math.ceil(o.domains / 2);
  if (!Number.isInteger(running) || running < 0 || running > o.domains) throw new RangeError(`running must be between 0 and ${o.domains}, got ${running}`);
  const prefix = o.prefix ?? 'vm';
  const parts: string[] = ['<node>\n'];
  for (let i = 0; i < o.domains; i++) parts.push(domainXml(i, i < running, prefix));
  parts.push(`  <network>
    <name>default</name>
    <uuid>${uuidFor(2, 1)}</uuid>
    <forward mode='nat'/>
    <bridge name='virbr0' stp='on' delay='0'/>
    <ip address='192.168.122.1' netmask='255.255.255.0'>
      <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
    </ip>
  </network>
  <network>
    <name>isolated</name>
    <uuid>${uuidFor(2, 2)}</uuid>
    <bridge name='virbr1' stp='on' delay='0'/>
    <ip address='192.168.100.1' netmask='255.255.255.0'/>
  </network>
`);
  const imagesDir = '/var/lib/vem-test/images';
  parts.push(`  <pool type='dir'>
    <name>default</name>
    <uuid>${uuidFor(3, 1)}</uuid>
    <capacity unit='GiB'>2000</capacity>
    <allocation unit='GiB'>120</allocation>
    <available unit='GiB'>1880</available>
    <target><path>${imagesDir}</path></target>
`);
  const volumes = Math.max(3, Math.min(o.domains, 200));
  for (let i = 0; i < volumes; i++) parts.push(volumeXml(`${testDomainName(i, prefix)}.qcow2`, imagesDir, 10 + (i % 3) * 10, 512 + (i % 7) * 100));
  parts.push(`  </pool>
  <pool type='dir'>
    <name>iso</name>
    <uuid>${uuidFor(3, 2)}</uuid>
    <capacity unit='GiB'>100</capacity>
    <allocation unit='GiB'>4</allocation>
    <available unit='GiB'>96</available>
    <target><path>/var/lib/vem-test/iso</path></target>
${volumeXml('debian-12.iso', '/var/lib/vem-test/iso', 1, 650)}${volumeXml('alpine.iso', '/var/lib/vem-test/iso', 1, 200)}  </pool>
  <cpu>
    <mhz>2400</mhz>
    <model>i686</model>
    <active>64</active>
    <nodes>2</nodes>
    <sockets>2</sockets>
    <cores>8</cores>
    <threads>2</threads>
  </cpu>
  <memory>${256 * 1024 * 1024}</memory>
</node>
`);
  return parts.join('');
}

/** Writes a test-driver node file with `domains` domains of which `running` run. */
export function writeTestNodeXml(path: string, o: TestNodeOptions): void {
  writeFileSync(path, testNodeXml(o));
}
