/** Service listing parsers and the command each action runs, per init system (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSystemdUnitFiles, parseSystemdUnits, serviceCommand } from '../../src/guest-agent/services.js';

test('systemctl list-units / list-unit-files output', () => {
  const units = parseSystemdUnits(
    [
      'cron.service                loaded    active   running Regular background program processing daemon',
      '● nginx.service             loaded    failed   failed  A high performance web server',
      'ssh.service                 loaded    inactive dead    OpenBSD Secure Shell server',
      'systemd-journald.socket     loaded    active   running Journal Socket',
    ].join('\n'),
  );
  assert.deepEqual(units.map((u) => [u.unit, u.active, u.description]), [
    ['cron.service', 'active', 'Regular background program processing daemon'],
    ['nginx.service', 'failed', 'A high performance web server'],
    ['ssh.service', 'inactive', 'OpenBSD Secure Shell server'],
  ]);
  const files = parseSystemdUnitFiles('cron.service enabled enabled\nssh.service disabled enabled\ngetty@.service enabled enabled\n');
  assert.equal(files.get('ssh.service'), 'disabled');
  assert.equal(files.size, 3);
});

test('action commands per init system; unsafe names refused', () => {
  assert.deepEqual(serviceCommand('systemd', 'nginx', 'restart', { updateRcD: false }), ['systemctl', ['restart', '--no-pager', 'nginx.service']]);
  assert.deepEqual(serviceCommand('openrc', 'sshd', 'enable', { updateRcD: false }), ['rc-update', ['add', 'sshd', 'default']]);
  assert.deepEqual(serviceCommand('openrc', 'sshd', 'stop', { updateRcD: false }), ['rc-service', ['sshd', 'stop']]);
  assert.deepEqual(serviceCommand('sysv', 'cron', 'start', { updateRcD: false }), ['/etc/init.d/cron', ['start']]);
  assert.deepEqual(serviceCommand('sysv', 'cron', 'disable', { updateRcD: true }), ['update-rc.d', ['cron', 'remove']]);
  assert.throws(() => serviceCommand('sysv', 'cron', 'enable', { updateRcD: false }), /no update-rc.d/);
  for (const bad of ['../../bin/sh', '-x', 'a b', 'x;reboot', '']) assert.throws(() => serviceCommand('systemd', bad, 'start', { updateRcD: false }), /invalid service name/);
  assert.throws(() => serviceCommand('none', 'x', 'start', { updateRcD: false }), /no init system/);
});
