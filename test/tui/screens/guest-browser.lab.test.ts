/**
 * The guest browser on a real lab guest (TCG) running the bundled guest agent:
 * a process started from the guest's console shows in the browser, and a signal
 * sent from the browser (after its confirmation) ends it, as the console confirms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireLab, openGuestConsole, waitForPrompt } from '../../lab/index.js';
import { bootGuest, guestAgentImage, guestLab, startNodeAgent } from '../../guest-agent/e2e/setup.js';
import { openDirectLink } from '../../../src/link/index.js';
import { ClusterStore } from '../../../src/tui/store/store.js';
import { NodePoller } from '../../../src/tui/store/poller.js';
import { ManageScreens } from '../../../src/tui/screens/index.js';
import { makeTheme } from '../../../src/tui/views/theme.js';
import type { GuestScreen } from '../../../src/tui/screens/guest.js';

async function until(cond: () => boolean | Promise<boolean>, what: string | (() => string), ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('lab guest: the guest browser lists a process started from the console and signals it', { timeout: 300_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  const image = await guestAgentImage();
  const lab = await guestLab(1);
  const cleanup: Array<() => Promise<void> | void> = [];
  t.after(async () => {
    for (const c of cleanup.reverse()) await c();
    await lab.stop();
  });
  const [n1] = lab.nodes;
  assert.ok(n1);
  await bootGuest(lab, n1, 'g1', image);
  const agent = await startNodeAgent(n1);
  cleanup.push(() => agent.stop());
  const link = openDirectLink('n1', agent.url);
  cleanup.push(() => link.close());
  const store = new ClusterStore();
  const poller = new NodePoller(link, store, { refreshMs: 1000 });
  poller.start();
  cleanup.push(() => poller.stop());
  const said: string[] = [];
  const screens = new ManageScreens({
    theme: () => makeTheme(true),
    store,
    link: () => link,
    invalidate: () => poller.invalidate(),
    say: (text) => void said.push(text),
    confirm: (_l, yes) => yes(),
    prompt: (_p, initial, submit) => submit(initial),
    markDirty: () => undefined,
    runEditor: async () => true,
    selectedVm: () => store.vms.get('n1/g1'),
    selectedNode: () => 'n1',
  });
  cleanup.push(() => screens.close());
  await until(() => store.vms.get('n1/g1')?.state === 'running', 'g1 running', 30_000);

  const con = await openGuestConsole(n1.qemuUri, 'g1');
  cleanup.push(() => con.close());
  await waitForPrompt(con, /vem-guest# /, 120_000);
  await con.command('sleep 5151 </dev/null >/dev/null 2>&1 & true');

  screens.openByName('guest', 'g1');
  const g = screens.current as GuestScreen;
  const text = (): string => g.lines(160, 50).join('\n').replace(/\{[a-z/-]+\}/g, '');
  // The browser refreshes by itself while shown; the guest agent may still be starting.
  await until(() => g.processes().some((p) => p.command === 'sleep 5151'), 'sleep 5151 in the browser', 120_000);
  assert.match(text(), /agent: answered by vem-guest-agent/);
  assert.doesNotMatch(text(), /SIMULATED/);
  const sleeper = g.processes().find((p) => p.command === 'sleep 5151');
  assert.ok(sleeper);
  assert.equal(sleeper.user, 'root');
  // Filter to it, then x: the prompt offers TERM, the confirmation is answered yes.
  g.filter = 'sleep 5151';
  g.key('/'); // the prompt starts from the current filter and is submitted as is
  assert.deepEqual(g.processes().map((p) => p.pid), [sleeper.pid]);
  g.key('x');
  await until(() => !g.processes().some((p) => p.pid === sleeper.pid), () => `the process gone from the browser (${said.join(' | ')})`, 30_000);
  await until(async () => (await con.command(`kill -0 ${sleeper.pid} 2>/dev/null && echo alive || echo gone`)).includes('gone'), 'the console to confirm', 10_000);
});
