import { VemError } from '../common/errors.js';

/** libvirt's virErrorNumber values we name in code (src/util/virerror.h upstream). */
export const ErrorCode = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  SYSTEM_ERROR: 38,
  XML_ERROR: 27,
  OPERATION_INVALID: 55,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_TIMEOUT: 68,
  MIGRATE_PERSIST_FAILED: 69,
  NO_DOMAIN_SNAPSHOT: 72,
  OPERATION_ABORTED: 78,
  AGENT_UNRESPONSIVE: 86,
  OPERATION_UNSUPPORTED: 84,
} as const;

/** An error the daemon (or the simulated hypervisor) reported: libvirt's code, domain and message. */
export class LibvirtError extends VemError {
  constructor(
    message: string,
    readonly code: number,
    readonly domain = 0,
    readonly level = 2,
  ) {
    super(message);
  }
}

/** The peer broke the wire protocol (bad frame, wrong program, unknown serial...). */
export class ProtocolError extends VemError {}

/** The connection is gone (daemon exited, socket closed); reopen to go on. */
export class ConnectionClosedError extends VemError {
  constructor(readonly uri: string, reason: string) {
    super(`libvirt connection to ${uri} closed: ${reason}`, 'the daemon may have stopped; reconnect when it is back');
  }
}

/** A call got no answer within its timeout. */
export class CallTimeoutError extends VemError {
  constructor(readonly procedure: string, readonly timeoutMs: number) {
    super(`libvirt call ${procedure} got no answer in ${timeoutMs} ms`);
  }
}
