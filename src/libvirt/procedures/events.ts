import type { DomainEvent } from '../hypervisor.js';
import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { XdrReader } from '../xdr/reader.js';
import { readTypedParams } from '../xdr/typed-params.js';
import { readDomain, uuidString, type DomainHandle } from './types.js';

/** VIR_DOMAIN_EVENT_ID_* we subscribe to. */
export const DomainEventId = {
  LIFECYCLE: 0,
  REBOOT: 1,
  BALLOON_CHANGE: 13,
  DEVICE_REMOVED: 15,
  DEVICE_ADDED: 19,
  JOB_COMPLETED: 21,
} as const;

export const SUBSCRIBED_EVENTS: readonly number[] = Object.values(DomainEventId);

const LIFECYCLE = ['defined', 'undefined', 'started', 'suspended', 'resumed', 'stopped', 'shutdown', 'pmsuspended', 'crashed'];

/** Register for one event id on every domain; returns the daemon's callback id. */
export function register(rpc: RpcConnection, eventId: number): Promise<number> {
  return rpc.call(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, (w) => w.int(eventId).int(0), (r) => r.int());
}

export function deregister(rpc: RpcConnection, callbackId: number): Promise<void> {
  return rpc.call(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, (w) => w.int(callbackId));
}

function who(d: DomainHandle): DomainEvent['domain'] {
  return { name: d.name, uuid: uuidString(d.uuid), id: d.id };
}

/**
 * Decode one event message (a REMOTE program MESSAGE) into a DomainEvent with
 * the callback id it was sent for; null for event procedures we do not use.
 * Throws ProtocolError when the body does not match the procedure.
 */
export function decodeEvent(procedure: number, body: Buffer, at = Date.now()): { callbackId: number; event: DomainEvent } | null {
  const r = new XdrReader(body);
  let out: { callbackId: number; event: DomainEvent };
  switch (procedure) {
    case Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE: {
      const callbackId = r.int();
      const d = readDomain(r);
      const ev = r.int();
      const detail = r.int();
      out = { callbackId, event: { kind: 'lifecycle', domain: who(d), event: LIFECYCLE[ev] ?? `event-${ev}`, detail, at } };
      break;
    }
    case Proc.DOMAIN_EVENT_CALLBACK_REBOOT: {
      const callbackId = r.int();
      out = { callbackId, event: { kind: 'reboot', domain: who(readDomain(r)), at } };
      break;
    }
    case Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE: {
      const callbackId = r.int();
      const d = readDomain(r);
      out = { callbackId, event: { kind: 'balloon-change', domain: who(d), actualKiB: r.uhyper(), at } };
      break;
    }
    case Proc.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED: {
      const callbackId = r.int();
      const d = readDomain(r);
      out = { callbackId, event: { kind: 'device-removed', domain: who(d), device: r.string(), at } };
      break;
    }
    case Proc.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED: {
      const callbackId = r.int();
      const d = readDomain(r);
      out = { callbackId, event: { kind: 'device-added', domain: who(d), device: r.string(), at } };
      break;
    }
    case Proc.DOMAIN_EVENT_CALLBACK_JOB_COMPLETED: {
      const callbackId = r.int();
      const d = readDomain(r);
      out = { callbackId, event: { kind: 'job-completed', domain: who(d), stats: readTypedParams(r, 64), at } };
      break;
    }
    default:
      return null;
  }
  r.done(`event ${procedure}`);
  return out;
}
