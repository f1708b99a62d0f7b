// The NoCloud files from the create form's fields and free-form user-data: what the seed holds,
// and every bad input refused naming its field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildUserData, CloudInitError, hostnameFor, parseUserData, seedFiles } from '../../src/common/cloud-init.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEexampleEXAMPLEexampleEXAMPLEexampl admin@jump';

function refused(f: () => unknown, field: string, re: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof CloudInitError && e.field === field && re.test(e.message), `want a refusal of ${field} matching ${re}`);
}

describe('cloud-init seed files', () => {
  it('user-data carries hostname, keys, user, packages and commands; meta-data the instance id', () => {
    const files = seedFiles({ hostname: 'web-01', sshKeys: [KEY], user: 'ops', packages: ['nginx'], commands: ['echo hi > /tmp/x'] }, 'iid-1234');
    assert.ok(files['user-data'].startsWith('#cloud-config\n'));
    const u = parse(files['user-data']) as Record<string, unknown>;
    assert.equal(u['hostname'], 'web-01');
    assert.deepEqual(u['ssh_authorized_keys'], [KEY]);
    assert.deepEqual(u['packages'], ['nginx']);
    assert.deepEqual(u['runcmd'], ['echo hi > /tmp/x']);
    const users = u['users'] as Array<unknown>;
    assert.equal(users[0], 'default');
    assert.deepEqual((users[1] as { name: string; ssh_authorized_keys: string[] }).ssh_authorized_keys, [KEY]);
    assert.deepEqual(parse(files['meta-data']), { 'instance-id': 'iid-1234', 'local-hostname': 'web-01' });
    assert.equal(files['network-config'], undefined);
  });

  it('free-form user-data is merged under the fields: its lists kept, the fields appended', () => {
    const ud = '#cloud-config\npackages: [curl]\nruncmd:\n  - [touch, /a]\nssh_authorized_keys: []\ntimezone: Europe/Paris\n';
    const u = parse(buildUserData({ hostname: 'h', packages: ['jq'], commands: ['b'], userData: ud })) as Record<string, unknown>;
    assert.deepEqual(u['packages'], ['curl', 'jq']);
    assert.deepEqual(u['runcmd'], [['touch', '/a'], 'b']);
    assert.equal(u['timezone'], 'Europe/Paris');
  });

  it('refuses bad user-data before anything is made, naming the field', () => {
    refused(() => parseUserData('#!/bin/sh\necho hi\n'), 'userData', /only #cloud-config/);
    refused(() => parseUserData('packages: [a]\n'), 'userData', /must start with the line '#cloud-config'/);
    refused(() => parseUserData('#cloud-config\npackages: [a\n'), 'userData', /not valid YAML/);
    refused(() => parseUserData('#cloud-config\n- a\n- b\n'), 'userData', /must be a mapping/);
    refused(() => parseUserData('#cloud-config\nruncmd: echo hi\n'), 'userData.runcmd', /list of commands/);
    refused(() => parseUserData('#cloud-config\nusers:\n  - shell: /bin/sh\n'), 'userData.users[0]', /mapping with a name/);
    refused(() => parseUserData('#cloud-config\na: 1\na: 2\n'), 'userData', /not valid YAML/);
    refused(() => buildUserData({ hostname: 'h', sshKeys: ['not a key'] }), 'sshKeys[0]', /not an OpenSSH public key/);
    refused(() => buildUserData({ hostname: 'bad_host!' }), 'hostname', /not a hostname/);
    refused(() => buildUserData({ hostname: 'h', user: 'Root User' }), 'user', /not a user name/);
    refused(() => buildUserData({ hostname: 'h', packages: ['rm -rf /'] }), 'packages[0]', /not a package name/);
    refused(() => seedFiles({ hostname: 'h', networkConfig: 'ethernets: {}\n' }, 'iid-1'), 'networkConfig', /version: 1 or version: 2/);
  });

  it('a network-config with a version is written as given', () => {
    const nc = 'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n';
    assert.equal(seedFiles({ hostname: 'h', networkConfig: nc }, 'iid-1')['network-config'], nc);
  });

  it('a hostname from a VM name', () => {
    assert.equal(hostnameFor('Web_01.prod'), 'web-01-prod');
    assert.equal(hostnameFor('___'), undefined);
  });
});
