/** Answers to QEMU guest-agent commands (JSON in, JSON out), from the simulated guest's data. */
import { ErrorCode, LibvirtError } from '../errors.js';
import type { SimDomain } from './domain.js';
import type { SimGuest } from './guest.js';

const COMMANDS = [
  'guest-ping', 'guest-info', 'guest-sync', 'guest-sync-delimited', 'guest-get-osinfo', 'guest-get-host-name', 'guest-get-users',
  'guest-get-time', 'guest-get-timezone', 'guest-network-get-interfaces', 'guest-get-fsinfo', 'guest-get-vcpus', 'guest-get-load',
];

function agentError(cmd: string, desc: string): LibvirtError {
  return new LibvirtError(`internal error: unable to execute QEMU agent command '${cmd}': ${desc}`, ErrorCode.INTERNAL_ERROR, 10);
}

export function answerAgentCommand(command: string, d: SimDomain, guest: SimGuest, now: number): string {
  let req: { execute?: unknown; arguments?: unknown };
  try {
    req = JSON.parse(command) as { execute?: unknown; arguments?: unknown };
  } catch {
    throw agentError('?', 'JSON parse error, invalid literal');
  }
  const cmd = typeof req.execute === 'string' ? req.execute : '';
  if (!cmd) throw agentError('?', "QMP input lacks member 'execute'");
  const ret = (v: unknown): string => JSON.stringify({ return: v });
  switch (cmd) {
    case 'guest-ping':
      return ret({});
    case 'guest-sync':
    case 'guest-sync-delimited': {
      const id = (req.arguments as { id?: unknown } | undefined)?.id;
      return ret(typeof id === 'number' ? id : 0);
    }
    case 'guest-info':
      return ret({ version: '8.2.2', supported_commands: COMMANDS.map((name) => ({ name, enabled: true, 'success-response': true })) });
    case 'guest-get-osinfo': {
      const os = d.os;
      return ret({ id: os.id, name: os.name, 'pretty-name': os.prettyName, version: os.version, 'version-id': os.versionId, 'kernel-release': os.kernel, 'kernel-version': '#1 SMP PREEMPT_DYNAMIC', machine: 'x86_64' });
    }
    case 'guest-get-host-name':
      return ret({ 'host-name': d.current.name });
    case 'guest-get-users':
      return ret(guest.sessions().map((s) => ({ user: s.user, 'login-time': s.loginTime.getTime() / 1000 })));
    case 'guest-get-time':
      return ret(Math.round(now * 1e6));
    case 'guest-get-timezone':
      return ret({ zone: 'UTC', offset: 0 });
    case 'guest-get-load': {
      const l = guest.info().load;
      return ret({ load1: l.load1, load5: l.load5, load15: l.load15 });
    }
    case 'guest-get-vcpus':
      return ret(Array.from({ length: d.current.vcpus }, (_, i) => ({ 'logical-id': i, online: true, 'can-offline': i > 0 })));
    case 'guest-network-get-interfaces':
      return ret(
        guest.interfaces().map((i) => ({
          name: i.name,
          'hardware-address': i.mac,
          'ip-addresses': i.addresses.map((a) => ({ 'ip-address-type': a.family === 'IPv4' ? 'ipv4' : 'ipv6', 'ip-address': a.address, prefix: Number(a.cidr.split('/')[1] ?? 0) })),
          statistics: { 'rx-bytes': i.rxBytes, 'rx-packets': Math.floor(i.rxBytes / 900), 'rx-errs': 0, 'rx-dropped': 0, 'tx-bytes': i.txBytes, 'tx-packets': Math.floor(i.txBytes / 900), 'tx-errs': 0, 'tx-dropped': 0 },
        })),
      );
    case 'guest-get-fsinfo':
      return ret(
        guest.filesystems().map((f) => ({
          name: f.device.replace('/dev/', ''),
          mountpoint: f.mountPoint,
          type: f.fsType,
          'used-bytes': f.usedBytes,
          'total-bytes': f.totalBytes,
          disk: [{ 'bus-type': 'virtio', bus: 0, target: 0, unit: 0, dev: f.device, pci_controller: { domain: 0, bus: 0, slot: 4, function: 0 } }],
        })),
      );
    default:
      throw agentError(cmd, `The command ${cmd} has not been found`);
  }
}
