// A hostile guest for the fault suite: the lab's guest image plus a program that abuses
// the guest-agent channel from inside the VM. Started from the guest's console, it keeps the
// port open and does what /tmp/hostile.mode says (one process: a killed writer's buffers keep
// the port busy until the host drains them), noting each mode in /tmp/hostile.out:
//   node /usr/local/lib/vem/hostile.mjs &  echo MODE > /tmp/hostile.mode
// Modes: flood (random bytes as fast as it can), cap (frames at the 16 MiB size cap with
// ids of no call, back to back), drip (answers each call one byte a second), wrongid
// (answers each call with another id), silent (reads calls, never answers), reconnect
// (opens the port, writes half a frame, closes, again, in a loop).
import { buildGuestImage, type GuestImage } from './guest-image.js';
import { MAX_FRAME_BYTES } from '../../src/common/guest-framing.js';

export const HOSTILE_PATH = '/usr/local/lib/vem/hostile.mjs';
export const HOSTILE_MODES = ['flood', 'cap', 'drip', 'wrongid', 'silent', 'reconnect'] as const;
export type HostileMode = (typeof HOSTILE_MODES)[number];

export const HOSTILE_SCRIPT = `import fs from 'node:fs';
const DEV = process.argv[2] || '/dev/virtio-ports/org.vemanager.guest.0';
const MODE_FILE = '/tmp/hostile.mode';
const MAGIC = Buffer.from('VGA1');
const MAX = ${MAX_FRAME_BYTES};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const header = (id, len) => { const h = Buffer.alloc(12); MAGIC.copy(h); h.writeUInt32BE(id >>> 0, 4); h.writeUInt32BE(len, 8); return h; };
const reply = Buffer.from('<?xml version="1.0"?><methodResponse><params><param><value><string>hostile</string></value></param></params></methodResponse>');
const openPort = async () => { for (let i = 0; ; i++) { try { return fs.openSync(DEV, 'r+'); } catch (e) { if (e.code !== 'EBUSY' || i > 600) throw e; await sleep(50); } } };
let fd = await openPort();
let mode = '';
const current = () => { try { return fs.readFileSync(MODE_FILE, 'utf8').trim() || 'idle'; } catch { return 'idle'; } };
const noteMode = () => { const m = current(); if (m !== mode) { mode = m; fs.appendFileSync('/tmp/hostile.out', 'hostile ' + mode + ' running\\n'); } return mode; };
// While no host end is connected a write fails or blocks: keep trying, as a stubborn guest would.
const write1 = (b) => new Promise((res, rej) => fs.write(fd, b, 0, b.length, null, (e, n) => (e ? rej(e) : res(n))));
const write = async (b) => { let off = 0; while (off < b.length) { try { off += await write1(b.subarray(off)); } catch { await sleep(50); } } };
// Not crypto.randomBytes: early in a TCG guest's life getrandom() blocks until the kernel's pool is ready.
const junk = Buffer.alloc(1 << 20);
for (let i = 0, x = 2463534242; i < junk.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; junk[i] = x & 0xff; }
const capBody = Buffer.alloc(MAX, 0x78);
// Calls from the host, answered (or not) as the current mode says.
let buf = Buffer.alloc(0);
const rs = fs.createReadStream('', { fd, autoClose: false, highWaterMark: 65536 });
rs.on('error', () => undefined);
rs.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const at = buf.indexOf(MAGIC);
    if (at < 0 || buf.length < at + 12) return;
    const id = buf.readUInt32BE(at + 4), len = buf.readUInt32BE(at + 8);
    if (buf.length < at + 12 + len) return;
    buf = buf.subarray(at + 12 + len);
    if (mode === 'wrongid') void write(Buffer.concat([header(id + 1000, reply.length), reply]));
    if (mode === 'drip') void (async () => { const f = Buffer.concat([header(id, reply.length), reply]); for (let i = 0; i < f.length && mode === 'drip'; i++) { await write(f.subarray(i, i + 1)); await sleep(1000); } })();
    // silent, and the writing modes: never answer
  }
});
const half = Buffer.concat([header(1, reply.length), reply.subarray(0, 40)]);
for (let k = 0; ; ) {
  const m = noteMode();
  if (m === 'flood') { await write(junk.subarray(k, k + 65536)); k = (k + 4099) % (junk.length - 65536); }
  else if (m === 'cap') { await write(header(Math.floor(Math.random() * 2 ** 31) + 2 ** 31, MAX)); for (let o = 0; o < MAX && current() === 'cap'; o += 1 << 20) await write(capBody.subarray(o, o + (1 << 20))); }
  else if (m === 'reconnect') { await write(half); fs.closeSync(fd); await sleep(20); fd = await openPort(); }
  else await sleep(100);
}
`;

/** The lab guest image with the hostile program in it (nothing started at boot: the test starts a mode from the console). */
export function hostileGuestImage(): Promise<GuestImage> {
  return buildGuestImage({ files: [{ guestPath: HOSTILE_PATH, content: HOSTILE_SCRIPT, mode: 0o755 }] });
}
