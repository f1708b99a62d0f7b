/** The create form's "from template" checks (each naming its field), the request they make, and the agent's refusals mapped to fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCreate, validateCreate, type CreateInput, type NodeFacts } from '../../../src/tui/commands/manage-create.js';
import { agentFieldError, formFieldOf } from '../../../src/tui/commands/manage-template.js';
import { readLocalInputs } from '../../../src/tui/commands/manage-provision.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const G = 1024 ** 3;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOd7LhYYlMj0vQ2rVNcW0mS7x0kxBO6c+Zo5t6Jv9k3j ops@jump';
const DEB = 'templates/debian-12.qcow2';
const facts = (over: Partial<NodeFacts> = {}): NodeFacts => ({
  node: 'node-01',
  vmNames: ['web-01'],
  cpus: 8,
  freeMemKiB: 8 * 1024 * 1024,
  pools: [
    { name: 'default', state: 'running', type: 'dir', path: '/images', capacity: 100 * G, allocation: 80 * G, available: 20 * G, autostart: true },
    { name: 'templates', state: 'running', type: 'dir', path: '/tpl', capacity: 10 * G, allocation: 3 * G, available: 7 * G, autostart: true },
    { name: 'full', state: 'running', type: 'dir', path: '/full', capacity: 10 * G, allocation: 10 * G, available: 1024 * 1024, autostart: true },
    { name: 'lvm', state: 'running', type: 'logical', path: '/dev/vg', capacity: 10 * G, allocation: 0, available: 10 * G, autostart: true },
  ],
  volumes: new Map([
    ['default', [{ name: 'app-9-seed.iso', path: '/images/app-9-seed.iso', key: '', capacity: 1e6, allocation: 1e6, format: 'iso' }]],
    ['templates', [{ name: 'debian-12.qcow2', path: '/tpl/debian-12.qcow2', key: '', capacity: 2 * G, allocation: G, format: 'qcow2' }, { name: 'other.raw', path: '/tpl/other.raw', key: '', capacity: 4 * G, allocation: 4 * G, format: 'raw' }]],
  ]),
  networks: ['default'],
  templates: { templates: [{ name: DEB, kind: 'volume', os: 'debian-12', pool: 'templates', volume: 'debian-12.qcow2', path: '/tpl/debian-12.qcow2', format: 'qcow2', capacity: 2 * G, allocation: G }] },
  local: { sshKeys: [KEY], errors: [] },
  ...over,
});
const form = (over: Partial<CreateInput> = {}): CreateInput => ({ ...emptyCreate(), name: 'app-1', diskMode: 'template', template: DEB, diskPool: 'default', diskSize: '20G', start: 'yes', ...over });
const fields = (i: CreateInput, f = facts()): string[] => validateCreate(i, f).errors.map((e) => e.field);

test('a good form becomes a vm.provision request and a user-data preview with the key', () => {
  const r = validateCreate(form({ vcpus: '2', memoryMiB: '2048', packages: 'htop, curl', user: 'ops' }), facts());
  assert.deepEqual(r.errors, []);
  assert.equal(r.plan, undefined, 'no definition of its own: the agent provisions it');
  assert.deepEqual(r.provision?.spec, {
    name: 'app-1', template: DEB, vcpus: 2, memoryMiB: 2048, diskBytes: 20 * G, pool: 'default', networks: ['default'], virtType: 'kvm',
    hostname: 'app-1', start: true, guestAgent: true, sshKeys: [KEY], user: 'ops', packages: ['htop', 'curl'],
  });
  assert.match(r.userData ?? '', /^#cloud-config\nhostname: app-1\n/);
  assert.ok(r.userData?.includes(`- ${KEY}`));
  // Empty disk size and pool: the template's.
  const d = validateCreate(form({ diskSize: '', diskPool: '', network: 'none', guestAgent: 'no', hostname: 'app.example.org' }), facts());
  assert.deepEqual([d.provision?.spec.diskBytes, d.provision?.spec.pool, d.provision?.spec.networks, d.provision?.spec.guestAgent, d.provision?.spec.hostname], [2 * G, 'templates', [], false, 'app.example.org']);
  // Any volume as POOL/VOLUME.
  assert.equal(validateCreate(form({ template: 'templates/other.raw', diskSize: '' }), facts()).provision?.spec.diskBytes, 4 * G);
});

test('the issue\'s bad input, each under its field, and no request', () => {
  const cases: Array<[Partial<CreateInput>, Partial<NodeFacts>, string, RegExp]> = [
    [{ template: 'nope' }, {}, 'template', /template: no template 'nope' on node-01 \(templates: templates\/debian-12\.qcow2; or any volume as POOL\/VOLUME\)/],
    [{ template: 'templates/gone.qcow2' }, {}, 'template', /pool templates on node-01 has no volume 'gone\.qcow2'/],
    [{ template: '' }, {}, 'template', /template: which one\?/],
    [{ diskSize: '1G' }, {}, 'disk size', /disk size: 1G is smaller than the template's 2\.0G; a disk can only grow/],
    [{ diskSize: 'big' }, {}, 'disk size', /'big' is not a size/],
    [{}, { local: { sshKeys: [KEY], userData: '#cloud-config\nruncmd: echo\n', errors: [] } }, 'user-data', /user-data: must be a list of commands .*\(at runcmd\)/],
    [{}, { local: { sshKeys: [KEY], userData: 'hostname: x\n', errors: [] } }, 'user-data', /must start with the line '#cloud-config'/],
    [{}, { local: { sshKeys: [KEY], userData: '#cloud-config\na: [\n', errors: [] } }, 'user-data', /not valid YAML/],
    [{}, { local: { sshKeys: ['ssh-rsa nope!'], errors: [] } }, 'ssh key', /SSH key: not an OpenSSH public key/],
    [{ name: 'web-01' }, {}, 'name', /name: node-01 already has a VM 'web-01'/],
    [{ name: 'app-9' }, {}, 'name', /pool default already has a volume 'app-9-seed\.iso'/],
    [{ diskPool: 'full' }, {}, 'disk pool', /disk pool: full is full \(1 MiB available\); the overlay and the seed need at least 8 MiB/],
    [{ diskPool: 'lvm' }, {}, 'disk pool', /lvm is a logical pool; .* directory pool/],
    [{ diskPool: 'nowhere' }, {}, 'disk pool', /no pool 'nowhere' on node-01/],
    [{ packages: 'ok bad/pkg' }, {}, 'packages', /packages: 'bad\/pkg' is not a package name/],
    [{ hostname: 'under_score' }, {}, 'hostname', /hostname: 'under_score' is not a hostname/],
    [{ guestAgent: 'maybe' }, {}, 'guest agent', /guest agent: 'maybe' is not yes or no/],
  ];
  for (const [i, f, field, re] of cases) {
    const r = validateCreate(form(i), facts(f));
    assert.deepEqual(r.errors.map((e) => e.field), [field], `${JSON.stringify(i)} ${JSON.stringify(f.local ?? '')}: ${JSON.stringify(r.errors)}`);
    assert.match(r.errors[0]?.message ?? '', re);
    assert.equal(r.provision, undefined);
  }
  // The templates not yet readable: POOL/VOLUME still works, a bare name says why not.
  assert.match(validateCreate(form({ template: 'gold' }), facts({ templates: { error: 'unknown method template.list' } })).errors[0]?.message ?? '', /templates could not be read \(unknown method template\.list\); give the disk image as POOL\/VOLUME/);
  assert.deepEqual(fields(form({ template: DEB }), facts({ templates: { error: 'x' } })), []);
});

test('the agent\'s refusals come back under the form\'s field', () => {
  assert.deepEqual(agentFieldError("name: a VM named 'app-1' exists on node-01 already"), { field: 'name', message: "name: a VM named 'app-1' exists on node-01 already (refused by the node, nothing was made)" });
  assert.equal(agentFieldError('diskBytes: 1 bytes is smaller than the template').field, 'disk size');
  assert.equal(agentFieldError('pool: pool default is full: 0 bytes available').field, 'disk pool');
  assert.equal(agentFieldError("networks[0]: no network 'x'").field, 'network');
  assert.equal(agentFieldError('userData.runcmd: must be a list').field, 'user-data');
  assert.equal(agentFieldError('virtType: node-01 offers no kvm guests; use qemu').field, 'type');
  assert.deepEqual(agentFieldError('libvirt said no'), { field: 'libvirt', message: 'libvirt said no' });
  assert.equal(formFieldOf('sshKeys[2]'), 'ssh key');
  assert.equal(formFieldOf('instanceId'), undefined);
});

test('the key and user-data files are read on the jump host; a missing or empty one is named', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'vem-local-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  writeFileSync(join(home, 'k.pub'), `# mine\n${KEY}\n\n`);
  writeFileSync(join(home, 'empty.pub'), '\n');
  writeFileSync(join(home, 'u.yaml'), '#cloud-config\n');
  assert.deepEqual(await readLocalInputs('~/k.pub', '~/u.yaml', home), { sshKeys: [KEY], userData: '#cloud-config\n', errors: [] });
  assert.deepEqual(await readLocalInputs(KEY, '', home), { sshKeys: [KEY], errors: [] });
  assert.deepEqual(await readLocalInputs('none', 'none', home), { sshKeys: [], errors: [] });
  const bad = await readLocalInputs('~/empty.pub', '~/nope.yaml', home);
  assert.deepEqual(bad.errors.map((e) => e.field), ['ssh key', 'user-data']);
  assert.match(bad.errors[0]?.message ?? '', /~\/empty\.pub on the jump host holds no key/);
  assert.match(bad.errors[1]?.message ?? '', /cannot read ~\/nope\.yaml on the jump host \(ENOENT\)/);
});
