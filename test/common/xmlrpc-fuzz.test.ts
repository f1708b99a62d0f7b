// Seeded property tests of the codec: random values round-trip; every truncation or
// byte flip of a valid document either decodes or fails with XmlRpcParseError (no
// other exception, no hang).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCall, decodeResponse, encodeCall, encodeResponse, XmlRpcFault, XmlRpcParseError, type XmlRpcValue } from '../../src/common/xmlrpc/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const CHARS = ['a', 'Z', '0', ' ', '\n', '\t', '&', '<', '>', '"', "'", 'é', '漢', '😀', ']]>', '\r', '&amp;', '<![CDATA['];

function randomValue(r: () => number, depth: number): XmlRpcValue {
  const k = Math.floor(r() * (depth > 3 ? 7 : 9));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor((r() - 0.5) * 2 ** 31);
    case 3:
      return Math.floor(r() * 2 ** 53) * (r() < 0.5 ? -1 : 1) || 0;
    case 4:
      return (r() - 0.5) * 10 ** Math.floor(r() * 30 - 10);
    case 5:
      return Array.from({ length: Math.floor(r() * 12) }, () => CHARS[Math.floor(r() * CHARS.length)]).join('');
    case 6:
      return r() < 0.5 ? new Date(Math.floor(r() * 4e12 / 1000) * 1000) : Buffer.from(Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * 256)));
    case 7:
      return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
    default: {
      const o: { [k: string]: XmlRpcValue } = {};
      for (let i = Math.floor(r() * 5); i > 0; i--) o[`${CHARS[Math.floor(r() * CHARS.length)]}${i}`] = randomValue(r, depth + 1);
      return o;
    }
  }
}

test('random values round-trip through calls and responses', () => {
  const r = rng(42);
  for (let i = 0; i < 500; i++) {
    const v = randomValue(r, 0);
    assert.deepEqual(decodeResponse(encodeResponse(v)), v);
    assert.deepEqual(decodeCall(encodeCall('a.b', [v, v])).params, [v, v]);
  }
});

test('truncated or corrupted documents fail with XmlRpcParseError only', () => {
  const r = rng(7);
  const doc = encodeCall('vm.define', [randomValue(r, 0), { a: [1, 'x<y', 2 ** 40], b: Buffer.from('hi'), c: new Date(0), d: null }]);
  const bytes = [...'<>/&;![]-?"\' xa'];
  let decoded = 0;
  let refused = 0;
  for (let i = 0; i < 1500; i++) {
    let bad: string;
    if (i % 3 === 0) bad = doc.slice(0, Math.floor(r() * doc.length));
    else {
      const at = Math.floor(r() * doc.length);
      bad = doc.slice(0, at) + bytes[Math.floor(r() * bytes.length)] + doc.slice(at + (i % 3 === 1 ? 1 : 0));
    }
    try {
      decodeCall(bad);
      decoded++;
    } catch (e) {
      assert.ok(e instanceof XmlRpcParseError, `unexpected ${(e as Error).name}: ${(e as Error).message} for ${bad.slice(0, 200)}`);
      refused++;
    }
    try {
      decodeResponse(bad.replace('methodCall', 'methodResponse'));
    } catch (e) {
      assert.ok(e instanceof XmlRpcParseError || e instanceof XmlRpcFault, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  assert.ok(refused > 500, `most corruptions are refused (${refused} refused, ${decoded} still valid)`);
});
