// The display forward's pure parts: viewer commands, and the refusal for a node
// reached without SSH (a link that cannot forward), which names where the display is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardVmDisplay, viewerCommands } from '../../src/link/vnc.js';

const XML = "<domain type='qemu'><name>g</name><devices><graphics type='vnc' port='5901' listen='127.0.0.1'/></devices></domain>";

test('viewer commands for VNC and SPICE', () => {
  assert.deepEqual(viewerCommands('vnc', { host: '127.0.0.1', port: 40001 }), { url: 'vnc://127.0.0.1:40001', viewers: ['remote-viewer vnc://127.0.0.1:40001', 'vncviewer 127.0.0.1::40001'] });
  assert.deepEqual(viewerCommands('spice', { host: '127.0.0.1', port: 5 }).viewers, ['remote-viewer spice://127.0.0.1:5']);
});

test('a link without SSH forwards is refused with the display address; one with them gets the forward', async () => {
  const https = { name: 'n9', call: () => Promise.resolve(XML) };
  await assert.rejects(forwardVmDisplay(https, 'g'), (e: Error & { hint?: string }) => /node n9 is reached without SSH, so vem cannot forward the display of g/.test(e.message) && /127\.0\.0\.1:5901/.test(String(e.hint ?? '')));
  const asked: string[] = [];
  const ssh = {
    name: 'n1',
    call: () => Promise.resolve(XML),
    forwardLocal: (h: string, p: number) => (asked.push(`${h}:${p}`), Promise.resolve({ host: '127.0.0.1' as const, port: 40002, close: () => undefined })),
  };
  const f = await forwardVmDisplay(ssh, 'g');
  assert.deepEqual(asked, ['127.0.0.1:5901']);
  assert.equal(f.url, 'vnc://127.0.0.1:40002');
  assert.equal(f.target, '127.0.0.1:5901');
  const none = { name: 'n2', call: () => Promise.resolve("<domain><devices><graphics type='vnc' port='-1'/></devices></domain>") };
  await assert.rejects(forwardVmDisplay(none, 'g'), /no VNC or SPICE display with a port/);
});
