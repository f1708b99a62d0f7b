/** libvirt's messages for the errors the simulation raises, with libvirt's codes (virErrorNumber) and domains. */
import { ErrorCode, LibvirtError } from '../errors.js';

/** virErrorDomain values we report from. */
export const From = { QEMU: 10, DOM: 6, STORAGE: 18, NET: 19, DOMAIN_SNAPSHOT: 35 } as const;

export function noDomain(name: string): LibvirtError {
  return new LibvirtError(`Domain not found: no domain with matching name '${name}'`, ErrorCode.NO_DOMAIN, From.QEMU);
}

export function invalid(what: string): LibvirtError {
  return new LibvirtError(`Requested operation is not valid: ${what}`, ErrorCode.OPERATION_INVALID, From.QEMU);
}

export function notRunning(): LibvirtError {
  return invalid('domain is not running');
}

export function failed(what: string): LibvirtError {
  return new LibvirtError(`operation failed: ${what}`, ErrorCode.OPERATION_FAILED, From.QEMU);
}

export function invalidArg(what: string): LibvirtError {
  return new LibvirtError(`invalid argument: ${what}`, ErrorCode.INVALID_ARG, From.QEMU);
}

/** A migration holds the domain's job lock; libvirt gives up waiting for it after 30 s with this message. */
export function jobLocked(): LibvirtError {
  return new LibvirtError(
    'Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePerform3Params)',
    ErrorCode.OPERATION_TIMEOUT,
    From.QEMU,
  );
}

export function agentUnavailable(reason = 'QEMU guest agent is not connected'): LibvirtError {
  return new LibvirtError(`Guest agent is not responding: ${reason}`, ErrorCode.AGENT_UNRESPONSIVE, From.QEMU);
}

export function noSnapshot(name: string): LibvirtError {
  return new LibvirtError(`Domain snapshot not found: no domain snapshot with matching name '${name}'`, ErrorCode.NO_DOMAIN_SNAPSHOT, From.DOMAIN_SNAPSHOT);
}

export function outOfMemory(node: string, needKiB: number, freeKiB: number): LibvirtError {
  return new LibvirtError(
    `internal error: qemu unexpectedly closed the monitor: cannot set up guest memory 'pc.ram': Cannot allocate memory ` +
      `(simulated node sim://${node}: needs ${Math.round(needKiB / 1024)} MiB, ${Math.max(0, Math.round(freeKiB / 1024))} MiB free)`,
    ErrorCode.INTERNAL_ERROR,
    From.QEMU,
  );
}
