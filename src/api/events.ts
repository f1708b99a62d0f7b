/** events.*: the long-poll for changes. */
import { method } from './method.js';
import { int, opt } from './schema.js';
import { eventsPage, rankWake } from './types.js';

export const events = {
  poll: method({
    name: 'events.poll',
    help: 'Long-poll for events after a cursor: events.poll(cursor, timeoutMs) -> {cursor, events: [{seq, at, source, kind, vm, detail}], missed, agentStart}. Returns at once when there are events, else waits up to timeoutMs (at most 60000). source: domain (libvirt event; kind lifecycle, reboot, job-completed, balloon-change, device-added, device-removed), vm (a change made through this agent), job (started, completed, failed, cancelled), libvirt (up, down). missed = older events were dropped; agentStart changes when the agent restarted (start again from cursor 0). A third argument, wake {sort: cpuPct|memPct|diskBps|netBps, above}: makes it also return (with ranked true in the answer) as soon as a collection finds one of this node\'s running VMs above that figure (units as vm.watch\'s sort; memPct is a fraction): a dashboard sorted by it learns when a VM climbs onto its screen.',
    params: [int, int, opt(rankWake)],
    result: eventsPage,
  }),
};
