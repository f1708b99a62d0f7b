/** events.*: the long-poll, which may also wake when a VM climbs onto a dashboard's sorted screen. */
import { api, type AgentEvent } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import type { AgentCore } from '../core.js';
import { eventToValue } from '../events.js';
import type { VmRanker } from './watch.js';

// events.ts builds its values untyped; the contract test (test/api) checks them against AgentEvent.
const eventWire = (e: Parameters<typeof eventToValue>[0]): AgentEvent => eventToValue(e) as unknown as AgentEvent;

/**
 * Past `above` by more than float32 rounding: the dashboard's mark comes from figures that
 * travelled packed as float32, so a VM exactly at the mark must not wake it again and again.
 */
export function passes(value: number, above: number): boolean {
  return value > above + Math.abs(above) * 1e-6 + 1e-9;
}

export function registerEventMethods(r: MethodRegistry, core: AgentCore, ranker: VmRanker): void {
  serve(r, api.events.poll, async ([cursor, timeoutMs, wake]) => {
    let timeout = Math.min(Math.max(timeoutMs, 0), 60_000);
    let ranked = false;
    const above = (): boolean => wake !== undefined && core.link.status().up && passes(ranker.top(wake.sort), wake.above);
    if (above()) {
      ranked = true;
      timeout = 0;
    }
    // The mark is checked after each collection while the poll waits (one pass over the node's rows per collection).
    const also = wake && !ranked ? (end: () => void) => core.collector.onCollected(() => {
      if (above()) {
        ranked = true;
        end();
      }
    }) : undefined;
    const page = await core.events.poll(Math.max(0, cursor), timeout, undefined, also);
    return { cursor: page.cursor, events: page.events.map(eventWire), missed: page.missed, agentStart: core.startedAt, ...(ranked ? { ranked } : {}) };
  });
}
