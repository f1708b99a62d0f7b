// The guest browser's words for a container whose processes the node agent reads from the host.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOST_PROC_AGENT, hostProcSource } from '../../../src/api/guest.js';
import { agentLine } from '../../../src/tui/screens/guest.js';
import { processSourceOf } from '../../../src/tui/commands/manage-guest.js';

test('agent line: a container read from the host says so, with the init pid the agent gave', () => {
  const a = agentLine({ errors: {}, loading: false, status: { agent: HOST_PROC_AGENT, detail: 'LXC init pid 42; users need an agent inside it', simulated: false } });
  assert.equal(a.level, 'warn');
  assert.match(a.text, /no agent in this container: its processes are read by the node agent from the host's \/proc \(LXC init pid 42; users need an agent inside it\)/);
});

test("a processes answer's source: kept when a string, bounded, absent otherwise", () => {
  assert.equal(processSourceOf({ processes: [], source: hostProcSource(7) }), 'host /proc (LXC init pid 7)');
  assert.equal(processSourceOf({ processes: [] }), undefined);
  assert.equal(processSourceOf({ processes: [], source: 5 }), undefined);
  assert.equal(processSourceOf([]), undefined);
  assert.equal(processSourceOf({ source: 'x'.repeat(1000) })?.length, 200);
});

test("agent line: a container the host cannot read says why, without advice to install an agent in it", () => {
  const a = agentLine({ errors: {}, loading: false, status: { agent: 'none', detail: "cannot read the processes of container 'c1' from the host: permission denied", simulated: false } });
  assert.equal(a.level, 'bad');
  assert.match(a.text, /container 'c1' from the host: permission denied$/);
  assert.match(agentLine({ errors: {}, loading: false, status: { agent: 'none', detail: 'no channel', simulated: false } }).text, /run vem guest-agent/);
});
