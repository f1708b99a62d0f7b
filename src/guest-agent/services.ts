/** Services from the guest's init system: systemd when it runs, else OpenRC, else /etc/init.d scripts. */
import { VemError } from '../common/errors.js';
import type { GuestHost } from './host.js';

export type InitSystem = 'systemd' | 'openrc' | 'sysv' | 'none';
export type ServiceAction = 'start' | 'stop' | 'restart' | 'enable' | 'disable';
export const SERVICE_ACTIONS: readonly ServiceAction[] = ['start', 'stop', 'restart', 'enable', 'disable'];

export interface ServiceRow {
  name: string;
  /** running | stopped | failed | unknown */
  state: string;
  /** enabled | disabled | static | unknown */
  enabled: string;
  description: string;
}

export async function detectInit(host: GuestHost): Promise<InitSystem> {
  if ((await host.exists('/run/systemd/system')) && (await host.which('systemctl'))) return 'systemd';
  if ((await host.which('rc-service')) && (await host.exists('/run/openrc'))) return 'openrc';
  if ((await host.listDir('/etc/init.d')).length > 0) return 'sysv';
  return 'none';
}

/** Unit and script names reach a command line: no slashes, no options, no shell metacharacters. */
export function checkServiceName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9@._:+-]{0,127}$/.test(name)) throw new VemError(`invalid service name '${name}'`, 'letters, digits and @._:+- only');
}

/** `systemctl list-units --plain --no-legend` lines: UNIT LOAD ACTIVE SUB DESCRIPTION... (pure). */
export function parseSystemdUnits(text: string): Array<{ unit: string; load: string; active: string; sub: string; description: string }> {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^\s*[●*]?\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m && m[1]?.endsWith('.service')) out.push({ unit: m[1], load: m[2] ?? '', active: m[3] ?? '', sub: m[4] ?? '', description: (m[5] ?? '').trim() });
  }
  return out;
}

/** `systemctl list-unit-files --no-legend` lines: UNIT STATE [PRESET] (pure). */
export function parseSystemdUnitFiles(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [unit, state] = line.trim().split(/\s+/);
    if (unit?.endsWith('.service') && state) m.set(unit, state);
  }
  return m;
}

async function systemdServices(host: GuestHost): Promise<ServiceRow[]> {
  const units = await host.exec('systemctl', ['list-units', '--type=service', '--all', '--plain', '--no-legend', '--no-pager']);
  const files = await host.exec('systemctl', ['list-unit-files', '--type=service', '--no-legend', '--no-pager']);
  if (units.code !== 0) throw new VemError(`systemctl list-units failed: ${units.stderr.trim()}`);
  const enabled = parseSystemdUnitFiles(files.stdout);
  const rows = new Map<string, ServiceRow>();
  for (const u of parseSystemdUnits(units.stdout)) {
    const state = u.active === 'active' ? 'running' : u.active === 'failed' ? 'failed' : u.active === 'inactive' ? 'stopped' : u.active;
    rows.set(u.unit, { name: u.unit.replace(/\.service$/, ''), state, enabled: enabled.get(u.unit) ?? 'unknown', description: u.description });
  }
  for (const [unit, st] of enabled) {
    if (!rows.has(unit) && !unit.includes('@.')) rows.set(unit, { name: unit.replace(/\.service$/, ''), state: 'stopped', enabled: st, description: '' });
  }
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
}

async function scriptServices(host: GuestHost, init: 'openrc' | 'sysv'): Promise<ServiceRow[]> {
  const names = (await host.listDir('/etc/init.d')).filter((n) => /^[A-Za-z0-9][A-Za-z0-9@._:+-]*$/.test(n) && !['README', 'functions', 'rc', 'rcS', 'skeleton'].includes(n)).sort();
  let enabledSet = new Set<string>();
  if (init === 'openrc') {
    const r = await host.exec('rc-update', ['show', '-v']);
    enabledSet = new Set(r.stdout.split('\n').filter((l) => /\|\s*\S/.test(l)).map((l) => l.split('|')[0]?.trim() ?? ''));
  } else {
    for (const d of ['/etc/rcS.d', '/etc/rc2.d', '/etc/rc3.d', '/etc/rc5.d']) {
      for (const f of await host.listDir(d)) {
        const m = /^S\d\d(.+)$/.exec(f);
        if (m?.[1]) enabledSet.add(m[1]);
      }
    }
  }
  // Status scripts run in parallel with a short timeout each: a hung script must not hang the report.
  return Promise.all(
    names.map(async (name) => {
      const r = init === 'openrc' ? await host.exec('rc-service', [name, 'status'], { timeoutMs: 3000 }) : await host.exec(`/etc/init.d/${name}`, ['status'], { timeoutMs: 3000 });
      const state = r.code === 0 ? 'running' : r.code === 3 ? 'stopped' : 'unknown';
      return { name, state, enabled: enabledSet.has(name) ? 'enabled' : 'disabled', description: '' };
    }),
  );
}

export async function listServices(host: GuestHost): Promise<{ init: InitSystem; services: ServiceRow[] }> {
  const init = await detectInit(host);
  if (init === 'systemd') return { init, services: await systemdServices(host) };
  if (init === 'openrc' || init === 'sysv') return { init, services: await scriptServices(host, init) };
  return { init, services: [] };
}

/** The command an action runs, per init system (pure). */
export function serviceCommand(init: InitSystem, name: string, action: ServiceAction, tools: { updateRcD: boolean }): [string, string[]] {
  checkServiceName(name);
  switch (init) {
    case 'systemd':
      return ['systemctl', [action, '--no-pager', name.includes('.') ? name : `${name}.service`]];
    case 'openrc':
      if (action === 'enable') return ['rc-update', ['add', name, 'default']];
      if (action === 'disable') return ['rc-update', ['del', name, 'default']];
      return ['rc-service', [name, action]];
    case 'sysv':
      if (action === 'enable' || action === 'disable') {
        if (!tools.updateRcD) throw new VemError(`cannot ${action} ${name}: this guest has no update-rc.d`);
        return ['update-rc.d', action === 'enable' ? [name, 'defaults'] : [name, 'remove']];
      }
      return [`/etc/init.d/${name}`, [action]];
    default:
      throw new VemError('this guest has no init system the agent knows (systemd, OpenRC, /etc/init.d)');
  }
}

export async function serviceAction(host: GuestHost, name: string, action: ServiceAction): Promise<{ init: InitSystem; output: string }> {
  const init = await detectInit(host);
  if (init === 'sysv' && !(await host.exists(`/etc/init.d/${name}`))) throw new VemError(`no service '${name}' in /etc/init.d`);
  const [cmd, args] = serviceCommand(init, name, action, { updateRcD: (await host.which('update-rc.d')) !== null });
  const r = await host.exec(cmd, args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new VemError(`${action} ${name} failed (${cmd} exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  return { init, output: (r.stdout + r.stderr).trim().slice(0, 2000) };
}
