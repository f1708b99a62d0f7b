/** events.*: the long-poll for changes. */
import { method } from './method.js';
import { int } from './schema.js';
import { eventsPage } from './types.js';

export const events = {
  poll: method({
    name: 'events.poll',
    help: 'Long-poll for events after a cursor: events.poll(cursor, timeoutMs) -> {cursor, events: [{seq, at, source, kind, vm, detail}], missed, agentStart}. Returns at once when there are events, else waits up to timeoutMs (at most 60000). source: domain (libvirt event; kind lifecycle, reboot, job-completed, balloon-change, device-added, device-removed), vm (a change made through this agent), job (started, completed, failed, cancelled), libvirt (up, down). missed = older events were dropped; agentStart changes when the agent restarted (start again from cursor 0).',
    params: [int, int],
    result: eventsPage,
  }),
};
