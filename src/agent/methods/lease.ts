/** lease.*: the agent's leases (src/agent/lease.ts); every call but leases.list is audited as a change. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import type { AgentCore } from '../core.js';
import { busyWith, LeaseTable, ttlOf, type Lease } from '../lease.js';

function wire(l: Lease, withToken: boolean): Omit<Lease, 'token'> & { token?: string } {
  const { token, ...rest } = l;
  return withToken ? { ...rest, token } : rest;
}

export function registerLeaseMethods(r: MethodRegistry, core: AgentCore, leases = new LeaseTable()): LeaseTable {
  serve(r, api.lease.acquire, ([scope, holder, op, ttl], ctx) => {
    const l = leases.acquire(scope, holder, op, ttlOf(ttl), ctx.caller, core.jobs.list());
    core.events.push('lease', 'acquired', scope.startsWith('vm:') ? scope.slice(3) : undefined, { scope, holder, op, expiresAt: l.expiresAt });
    return wire(l, true);
  });
  serve(r, api.lease.renew, ([token, ttl]) => wire(leases.renew(token, ttlOf(ttl)), true));
  serve(r, api.lease.release, ([token]) => {
    const l = leases.release(token);
    if (l) core.events.push('lease', 'released', l.scope.startsWith('vm:') ? l.scope.slice(3) : undefined, { scope: l.scope, holder: l.holder });
    return true;
  });
  serve(r, api.lease.list, () => {
    const held = leases.list().map((l) => wire(l, false));
    const busy = [...new Set(core.jobs.list().filter((j) => j.status === 'running').map((j) => j.vm))].flatMap((vm) => {
      const j = busyWith(vm, core.jobs.list());
      if (!j || held.some((l) => l.scope === `vm:${vm}`)) return [];
      return [{ scope: `vm:${vm}`, holder: j.caller, op: `${j.kind} ${j.id}`, since: j.startedAt, renewedAt: j.startedAt, expiresAt: j.startedAt, caller: j.caller }];
    });
    return [...held, ...busy];
  });
  return leases;
}
