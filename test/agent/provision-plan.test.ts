// vm.provision planned against a node's view (pure): the overlay backed by the template, the
// seed and domain XML, and each bad input refused naming its field before anything is made.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { ProvisionSpec } from '../../src/api/index.js';
import { osLabelFromName, planProvision, ProvisionError, volumeTemplates, type PoolView, type ProvisionNodeView } from '../../src/agent/provision-plan.js';
import { provisionDomainXml, templateMarkOf, vmTemplateBase, withoutTemplateMark, withTemplateMark } from '../../src/agent/provision-xml.js';

const GiB = 1024 ** 3;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEexample admin@jump';

function view(over: Partial<ProvisionNodeView> = {}, pools?: PoolView[]): ProvisionNodeView {
  const ps = pools ?? [
    { name: 'templates', state: 'running', type: 'dir', path: '/srv/templates', available: 100 * GiB, volumes: [{ name: 'debian-12-genericcloud-amd64.qcow2', path: '/srv/templates/debian-12-genericcloud-amd64.qcow2', capacity: 2 * GiB, allocation: 400e6, format: 'qcow2' }, { name: 'netinst.iso', path: '/srv/templates/netinst.iso', capacity: 1e8, allocation: 1e8, format: 'iso' }] },
    { name: 'default', state: 'running', type: 'dir', path: '/var/lib/libvirt/images', available: 50 * GiB, volumes: [{ name: 'raw.img', path: '/var/lib/libvirt/images/raw.img', capacity: GiB, allocation: GiB, format: 'raw' }, { name: 'taken.qcow2', path: '/x', capacity: 1, allocation: 1 }] },
    { name: 'lvm', state: 'running', type: 'logical', path: '/dev/vg', available: 50 * GiB, volumes: [] },
  ];
  return { node: 'n1', templates: volumeTemplates(ps), vmTemplates: new Map(), running: new Set(['web']), pools: ps, domains: new Set(['web', 'db']), networks: new Map([['default', true], ['off', false]]), kvm: true, instanceId: 'iid-abc', guestAgentBundle: '/opt/vem/guest-agent.mjs', ...over };
}

const T = 'templates/debian-12-genericcloud-amd64.qcow2';

function refused(spec: Partial<ProvisionSpec>, field: string, re: RegExp, v = view()): void {
  assert.throws(() => planProvision({ name: 'new1', template: T, ...spec } as ProvisionSpec, v), (e: unknown) => e instanceof ProvisionError && e.field === field && re.test(e.message), `want ${field} ~ ${re}`);
}

describe('provisioning plan', () => {
  it('lists the template pool\'s disk images with an OS label, not its ISOs', () => {
    const t = volumeTemplates(view().pools);
    assert.deepEqual(t.map((x) => [x.name, x.os]), [[T, 'debian-12']]);
    assert.equal(osLabelFromName('noble-server-cloudimg-amd64.img'), undefined);
    assert.equal(osLabelFromName('Rocky-9.4-GenericCloud.qcow2'), 'rocky-9.4');
  });

  it('an overlay backed by the template grown to the size asked, a seed beside it, a VM that boots from them', () => {
    const p = planProvision({ name: 'new1', template: T, diskBytes: 20 * GiB, sshKeys: [KEY], vcpus: 2, memoryMiB: 2048 }, view());
    assert.equal(p.disk.pool, 'templates');
    assert.match(p.disk.xml, /<name>new1\.qcow2<\/name><capacity unit='bytes'>21474836480<\/capacity><target><format type='qcow2'\/><\/target><backingStore><path>\/srv\/templates\/debian-12-genericcloud-amd64\.qcow2<\/path><format type='qcow2'\/>/);
    assert.equal(p.seed.volume, 'new1-seed.iso');
    assert.equal(p.seed.dir, '/srv/templates');
    assert.deepEqual((parse(p.files['user-data']) as { ssh_authorized_keys: string[] }).ssh_authorized_keys, [KEY]);
    assert.match(p.files['meta-data'], /instance-id: iid-abc/);
    const xml = provisionDomainXml(p.domain, { disk: '/srv/templates/new1.qcow2', seed: '/srv/templates/new1-seed.iso' });
    assert.match(xml, /<domain type='kvm'>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<vcpu placement='static'>2<\/vcpu>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<memory unit='MiB'>2048<\/memory>/);
    assert.match(xml, /<source file='\/srv\/templates\/new1\.qcow2'\/><target dev='vda'/);
    assert.match(xml, /device='cdrom'>.*file='\/srv\/templates\/new1-seed\.iso'.*<readonly\/>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<source network='default'\/>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<boot dev='hd'\/>/);
    assert.equal(p.start, true);
    // The guest agent rides along by default: its bundle and unit on the seed, nodejs and the install command in user-data.
    assert.equal(p.agent?.bundle, '/opt/vem/guest-agent.mjs');
    assert.match(p.agent?.unit ?? '', /ExecStart=\/usr\/bin\/env node \/usr\/local\/lib\/vem\/guest-agent\.mjs --port \/dev\/virtio-ports\/org\.vemanager\.guest\.0/);
    const ud = parse(p.files['user-data']) as { packages: string[]; runcmd: string[] };
    assert.deepEqual(ud.packages, ['nodejs']);
    assert.match(ud.runcmd[0] ?? '', /cp "\$d\/vem\/guest-agent\.mjs" \/usr\/local\/lib\/vem\/guest-agent\.mjs/);
    const without = planProvision({ name: 'new2', template: T, guestAgent: false }, view());
    assert.equal(without.agent, undefined);
    assert.doesNotMatch(without.files['user-data'], /guest-agent|nodejs/);
  });

  it('any volume as POOL/VOLUME; raw templates are backed as raw; another pool for the overlay', () => {
    const p = planProvision({ name: 'n2', template: 'default/raw.img', pool: 'default', networks: [], virtType: 'qemu', kernel: '/k', initrd: '/i', cmdline: 'console=ttyS0', start: false }, view());
    assert.match(p.disk.xml, /<format type='raw'\/><\/backingStore>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<domain type='qemu'>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<kernel>\/k<\/kernel>/);
    assert.doesNotMatch(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<interface/);
    assert.equal(p.start, false);
  });

  it('a full copy when asked: a qcow2 with no backing file, copied from the template, refused where the pool cannot hold the template\'s data', () => {
    const p = planProvision({ name: 'new1', template: T, diskBytes: 20 * GiB, fullCopy: true }, view());
    assert.deepEqual(p.disk.copyFrom, { pool: 'templates', volume: 'debian-12-genericcloud-amd64.qcow2' });
    assert.equal(p.disk.capacity, 20 * GiB);
    assert.match(p.disk.xml, /^<volume><name>new1\.qcow2<\/name><capacity unit='bytes'>21474836480<\/capacity><target><format type='qcow2'\/><\/target><\/volume>$/);
    assert.equal(planProvision({ name: 'new2', template: T }, view()).disk.copyFrom, undefined, 'an overlay by default');
    const tight: PoolView[] = [{ name: 'templates', state: 'running', type: 'dir', path: '/srv/templates', available: 300e6, volumes: [{ name: 'debian-12-genericcloud-amd64.qcow2', path: '/srv/templates/debian-12-genericcloud-amd64.qcow2', capacity: 2 * GiB, allocation: 400e6, format: 'qcow2' }] }];
    refused({ fullCopy: true }, 'fullCopy', /pool templates has 300000000 bytes available; a full copy of templates\/debian-12-genericcloud-amd64\.qcow2 needs 408388608/, view({}, tight));
    assert.equal(planProvision({ name: 'new3', template: T }, view({}, tight)).disk.copyFrom, undefined, 'the same pool still takes an overlay');
  });

  it('a template on another node: copied from there keeping its format, into the pool of the same name here; an overlay there is refused', () => {
    const there: PoolView[] = [{ name: 'templates', state: 'running', type: 'dir', path: '/t', available: 10 * GiB, volumes: [
      { name: 'golden.img', path: '/t/golden.img', capacity: GiB, allocation: 10e6, format: 'raw' },
      { name: 'layer.qcow2', path: '/t/layer.qcow2', capacity: GiB, allocation: 1e6, format: 'qcow2', backing: '/t/base.qcow2' },
    ] }];
    const remote = { uri: 'qemu+tcp://10.0.0.1/system', node: 'n9', templates: volumeTemplates(there), vmTemplates: new Map(), pools: there };
    const p = planProvision({ name: 'far1', template: 'templates/golden.img', templateUri: remote.uri, diskBytes: 2 * GiB }, view({ remote }));
    assert.deepEqual(p.disk.copyFrom, { pool: 'templates', volume: 'golden.img', uri: 'qemu+tcp://10.0.0.1/system', node: 'n9' });
    assert.equal(p.disk.volume, 'far1.img', 'a raw image stays raw, and is named so');
    assert.match(p.disk.xml, /<capacity unit='bytes'>1073741824<\/capacity><target><format type='raw'\/>/, 'made at the template\'s size, grown after the copy');
    assert.equal(p.disk.capacity, 2 * GiB);
    refused({ template: 'templates/layer.qcow2', templateUri: remote.uri }, 'template', /layer\.qcow2 on n9 is an overlay on \/t\/base\.qcow2/, view({ remote }));
    refused({ template: 'templates/nope.img', templateUri: remote.uri }, 'template', /pool templates on n9 has no volume 'nope\.img'/, view({ remote }));
    // A raw image arrives whole: its capacity must fit, not just its allocation.
    const small: PoolView[] = [{ name: 'templates', state: 'running', type: 'dir', path: '/srv/templates', available: 500e6, volumes: [] }];
    refused({ template: 'templates/golden.img', templateUri: remote.uri }, 'pool', /a full copy of templates\/golden\.img from n9 needs 1082130432/, view({ remote }, small));
  });

  it('refuses bad input naming the field', () => {
    refused({ template: 'nope' }, 'template', /no template 'nope' on n1 \(templates: templates\/debian/);
    refused({ template: 'default/missing.qcow2' }, 'template', /no volume 'missing\.qcow2'/);
    refused({ template: 'templates/netinst.iso' }, 'template', /ISO image/);
    refused({ template: 'web' }, 'template', /running VM/);
    refused({ diskBytes: GiB }, 'diskBytes', /smaller than the template/);
    refused({ name: 'web' }, 'name', /exists on n1 already/);
    refused({ name: 'a/b' }, 'name', /contains '\/'/);
    refused({ name: 'taken', pool: 'default' }, 'name', /already has a volume 'taken\.qcow2'/);
    refused({ pool: 'lvm' }, 'pool', /directory pool/);
    refused({ networks: ['nonet'] }, 'networks[0]', /no network 'nonet'/);
    refused({ networks: ['off'] }, 'networks[0]', /not running/);
    refused({ vcpus: 0 }, 'vcpus', /whole number/);
    refused({ userData: '#cloud-config\nruncmd: 3\n' }, 'userData.runcmd', /list of commands/);
    refused({ sshKeys: ['hello'] }, 'sshKeys[0]', /OpenSSH public key/);
    refused({ virtType: 'kvm' }, 'virtType', /no kvm/, view({ kvm: false }));
    refused({ bogus: 1 } as Partial<ProvisionSpec>, 'bogus', /unknown field/);
    refused({}, 'guestAgent', /no guest agent bundle .* guestAgent: false/, view({ guestAgentBundle: undefined }));
    const full = view();
    const tp = full.pools[0];
    assert.ok(tp);
    refused({}, 'pool', /pool templates is full/, view({}, [{ ...tp, available: 1000 }]));
  });

  it('a VM template hands on how it boots; its mark is read, set and removed in the metadata', () => {
    const xml = "<domain type='qemu'>\n  <name>gold</name>\n  <uuid>u</uuid>\n  <memory unit='KiB'>262144</memory>\n  <vcpu>2</vcpu>\n  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/k</kernel><initrd>/i</initrd><cmdline>console=ttyS0</cmdline></os>\n  <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/p/gold.img'/><target dev='vda'/></disk></devices>\n</domain>\n";
    assert.equal(templateMarkOf(xml), undefined);
    const marked = withTemplateMark(xml, { os: 'busybox' });
    assert.deepEqual(templateMarkOf(marked), { os: 'busybox' });
    assert.deepEqual(templateMarkOf(withTemplateMark(marked, {})), {});
    assert.equal(withoutTemplateMark(marked), xml);
    // Another application's metadata is not ours.
    assert.equal(templateMarkOf(xml.replace('</uuid>', "</uuid><metadata><x:template xmlns:x='urn:other'/></metadata>")), undefined);
    const b = vmTemplateBase(xml);
    assert.deepEqual(b, { virtType: 'qemu', arch: 'x86_64', machine: 'pc', kernel: '/k', initrd: '/i', cmdline: 'console=ttyS0', vcpus: 2, memoryMiB: 256, disk: { path: '/p/gold.img', format: 'raw' } });
    const v = view();
    const tmpl = { name: 'gold', kind: 'vm' as const, pool: 'default', volume: 'raw.img', path: '/var/lib/libvirt/images/raw.img', capacity: GiB, allocation: GiB, format: 'raw' };
    const p = planProvision({ name: 'from-gold', template: 'gold', networks: [] }, { ...v, templates: [...v.templates, tmpl], vmTemplates: new Map([['gold', b]]) });
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<domain type='qemu'>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<kernel>\/k<\/kernel>\n {4}<initrd>\/i<\/initrd>/);
    assert.match(provisionDomainXml(p.domain, { disk: '/d', seed: '/s' }), /<memory unit='MiB'>256<\/memory>/);
    assert.equal(p.disk.pool, 'default');
  });
});
