import { LibvirtError } from '../errors.js';
import { Proc, QEMU_PROGRAM, QemuProc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { readTypedParams, type TypedValue } from '../xdr/typed-params.js';
import { writeDomain, type DomainHandle } from './types.js';

/** VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT: the daemon's own agent timeout. */
export const AGENT_TIMEOUT_DEFAULT = -1;

/** Run a QEMU guest-agent command (JSON in, JSON out) through the QEMU program. */
export async function agentCommand(rpc: RpcConnection, d: DomainHandle, command: string, timeoutSec = 5): Promise<string> {
  const rpcTimeout = timeoutSec > 0 ? timeoutSec * 1000 + 5000 : rpc.timeoutMs;
  const result = await rpc.call(
    QemuProc.AGENT_COMMAND,
    (w) => (writeDomain(w, d), w.string(command), w.int(timeoutSec), w.uint(0)),
    (r) => r.optString(),
    { program: QEMU_PROGRAM, timeoutMs: rpcTimeout },
  );
  if (result === null) throw new LibvirtError(`guest agent of ${d.name} returned no result`, 86);
  return result;
}

/** VIR_DOMAIN_GUEST_INFO_* type bits; 0 = everything the agent can tell. */
export const GuestInfoType = { USERS: 1, OS: 2, TIMEZONE: 4, HOSTNAME: 8, FILESYSTEM: 16, DISKS: 32, INTERFACES: 64 } as const;

/** virDomainGetGuestInfo: typed parameters such as os.id, hostname, user.count. */
export function guestInfo(rpc: RpcConnection, d: DomainHandle, types = 0): Promise<Record<string, TypedValue>> {
  return rpc.call(Proc.DOMAIN_GET_GUEST_INFO, (w) => (writeDomain(w, d), w.uint(types), w.uint(0)), (r) => readTypedParams(r, 2048));
}
