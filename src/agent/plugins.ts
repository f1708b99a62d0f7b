/**
 * Wire-in of the parts other modules add to the agent: guest.* (src/agent/guest,
 * the GUEST helper) and balancer.level1.* (src/agent/level1.ts, the BALANCER
 * helper). Loaded when present so the agent builds and runs without them.
 *
 * WIRE-IN POINT: once both modules have landed these dynamic imports can become
 * static ones; the contracts are in notes/entrypoints.md.
 */
import type { MethodRegistry } from '../common/xmlrpc/registry.js';
import type { Hypervisor } from '../libvirt/hypervisor.js';
import type { AgentCore } from './core.js';
import { level1Observation } from './observation.js';

export interface Plugins {
  afterCollect(): Promise<void>;
  close(): Promise<void>;
}

type GuestModule = { registerGuestMethods(r: MethodRegistry, hv: Hypervisor, o?: { timeoutMs?: number }): { close(): Promise<void> } };
type Level1Module = { registerLevel1(r: MethodRegistry, hv: Hypervisor, o: { samples: () => unknown }): { tick(): Promise<void>; close(): void } };

async function tryImport<T>(path: string): Promise<T | undefined> {
  try {
    return (await import(path)) as T;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(path.replace('./', '/').replace(/\.js$/, ''))) return undefined;
    // A broken plugin must not take the agent down: say so and run without it.
    process.stderr.write(`vem agent: could not load ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
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

export async function loadPlugins(registry: MethodRegistry, core: AgentCore): Promise<Plugins> {
  const hv = liveHypervisor(core);
  // Paths in variables: the modules may not exist yet, and tsc must not insist on them.
  const guestPath = './guest/index.js';
  const level1Path = './level1.js';
  const guestMod = await tryImport<GuestModule>(guestPath);
  const level1Mod = await tryImport<Level1Module>(level1Path);
  const guest = guestMod?.registerGuestMethods(registry, hv);
  const level1 = level1Mod?.registerLevel1(registry, hv, { samples: () => level1Observation(core) });
  return {
    afterCollect: async () => {
      if (!level1) return;
      try {
        await level1.tick();
      } catch (e) {
        core.events.push('balancer', 'level1-error', undefined, { message: e instanceof Error ? e.message : String(e) });
      }
    },
    close: async () => {
      level1?.close();
      await guest?.close();
    },
  };
}
