/**
 * The parts other modules add to the agent: guest.* (src/agent/guest, relayed
 * to the in-guest agent) and balancer.level1.* (src/agent/level1.ts, ticked
 * after each collection with the collector's observation).
 */
import type { MethodRegistry } from '../common/xmlrpc/registry.js';
import type { Hypervisor } from '../libvirt/hypervisor.js';
import type { AgentCore } from './core.js';
import { registerGuestMethods, type GuestRelayOptions } from './guest/index.js';
import { adjustmentDetail, registerLevel1 } from './level1.js';
import { level1Observation } from './observation.js';

export interface Plugins {
  afterCollect(): Promise<void>;
  close(): Promise<void>;
}

/** A Hypervisor that always forwards to the agent's current connection (it is replaced after a reconnect). */
function liveHypervisor(core: AgentCore): Hypervisor {
  return new Proxy({} as Hypervisor, {
    get: (_t, prop) => {
      if (prop === 'then') return undefined;
      const hv = core.link.raw();
      if (prop === 'isAlive') return () => core.link.status().up;
      if (prop === 'simulated') return hv?.simulated ?? false;
      if (prop === 'uri') return hv?.uri ?? '';
      const target = core.hv();
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export function loadPlugins(registry: MethodRegistry, core: AgentCore, guestOptions: GuestRelayOptions = {}): Plugins {
  const hv = liveHypervisor(core);
  const guest = registerGuestMethods(registry, hv, {
    ...guestOptions,
    onMisbehave: (vm, d) => core.events.push('guest', 'misbehaved', vm, { reason: d.reason, quarantineMs: d.quarantineMs, until: d.until }),
  });
  const level1 = registerLevel1(registry, hv, {
    samples: () => level1Observation(core),
    onAdjust: (a) => core.events.push('balancer', 'level1', a.vm, adjustmentDetail(a)),
    onSwitch: (on, settings) => core.events.push('balancer', on ? 'level1-on' : 'level1-off', undefined, settings),
  });
  return {
    afterCollect: async () => {
      try {
        await level1.tick();
      } catch (e) {
        core.events.push('balancer', 'level1-error', undefined, { message: e instanceof Error ? e.message : String(e) });
      }
    },
    close: async () => {
      level1.close();
      await guest.close();
    },
  };
}
