/**
 * A reply bigger than one virtio-serial write (the guest kernel takes at most
 * 32 KiB per write()) must still reach the host whole, or the host reads the
 * next replies as the rest of the cut frame. Pure logic: the port is a function
 * that takes at most 32 KiB, as the driver does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeAll } from '../../src/guest-agent/port.js';
import { encodeFrame, FrameDecoder } from '../../src/common/guest-framing.js';

const CAP = 32 * 1024;

function cappedPort(): { chunks: Buffer[]; write: (b: Buffer, o: number, l: number) => Promise<{ bytesWritten: number }> } {
  const chunks: Buffer[] = [];
  return {
    chunks,
    write: (b, o, l) => {
      const n = Math.min(l, CAP);
      chunks.push(Buffer.from(b.subarray(o, o + n)));
      return Promise.resolve({ bytesWritten: n });
    },
  };
}

test('a 100 KiB reply and the reply after it arrive whole through a port that takes 32 KiB per write', async () => {
  const port = cappedPort();
  const big = encodeFrame(7, 'x'.repeat(100 * 1024));
  const next = encodeFrame(8, '<pong/>');
  await writeAll(port.write, big);
  await writeAll(port.write, next);
  assert.ok(port.chunks.length >= 5, `written in ${port.chunks.length} pieces`);
  assert.ok(port.chunks.every((c) => c.length <= CAP));
  const frames = new FrameDecoder().push(Buffer.concat(port.chunks));
  assert.deepEqual(frames.map((f) => [f.id, f.body.length]), [[7, 100 * 1024], [8, '<pong/>'.length]]);
});

test('a port that takes no bytes is an error naming how far it got, not an endless loop', async () => {
  let calls = 0;
  const stuck = (_b: Buffer, _o: number, l: number): Promise<{ bytesWritten: number }> => Promise.resolve({ bytesWritten: calls++ === 0 ? Math.min(l, 10) : 0 });
  await assert.rejects(writeAll(stuck, Buffer.alloc(100)), /took no bytes \(10 of 100 written\)/);
});
