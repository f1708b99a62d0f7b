/** Frame format: round trips, arbitrary chunking, resync after garbage and oversized headers (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES } from '../../src/common/guest-framing.js';

test('frames survive any chunking, down to one byte at a time', () => {
  const wire = Buffer.concat([encodeFrame(1, '<a/>'), encodeFrame(2, 'é'.repeat(1000)), encodeFrame(0xffffffff, '')]);
  for (const size of [1, 3, 7, 13, wire.length]) {
    const d = new FrameDecoder();
    const got = [];
    for (let i = 0; i < wire.length; i += size) got.push(...d.push(wire.subarray(i, i + size)));
    assert.deepEqual(got.map((f) => [f.id, f.body.toString('utf8').length]), [[1, 4], [2, 1000], [0xffffffff, 0]]);
    assert.equal(d.garbageBytes, 0);
    assert.equal(d.pendingBytes, 0);
  }
});

test('garbage before, between and inside frames is skipped and counted', () => {
  const d = new FrameDecoder();
  const junk = Buffer.from('hello VGA VG\x00\xffVGA');
  const wire = Buffer.concat([junk, encodeFrame(7, 'x'), Buffer.from('zz'), encodeFrame(8, 'y')]);
  const got = d.push(wire);
  assert.deepEqual(got.map((f) => f.id), [7, 8]);
  assert.equal(d.garbageBytes, junk.length + 2);
});

test('a header announcing an oversized body is treated as garbage, and the next frame still comes through', () => {
  const d = new FrameDecoder(1024);
  const bad = encodeFrame(1, 'x');
  bad.writeUInt32BE(10_000_000, 8);
  const got = d.push(Buffer.concat([bad.subarray(0, FRAME_HEADER_BYTES), encodeFrame(2, 'ok')]));
  assert.deepEqual(got.map((f) => [f.id, f.body.toString()]), [[2, 'ok']]);
  assert.ok(d.garbageBytes >= 4);
});

test('a half frame from a previous connection is dropped by reset()', () => {
  const d = new FrameDecoder();
  const f = encodeFrame(3, 'abcdef');
  assert.deepEqual(d.push(f.subarray(0, 15)), []);
  d.reset();
  assert.deepEqual(d.push(encodeFrame(4, 'new')).map((x) => x.id), [4]);
});

test('encodeFrame refuses a body over the limit', () => {
  assert.throws(() => encodeFrame(1, Buffer.alloc(16 * 1024 * 1024 + 1)), RangeError);
});
