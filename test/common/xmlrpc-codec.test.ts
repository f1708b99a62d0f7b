import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeCall,
  decodeResponse,
  encodeCall,
  encodeFault,
  encodeResponse,
  MethodRegistry,
  parseCliArg,
  formatResultJson,
  XmlRpcFault,
  XmlRpcParseError,
  XmlRpcEncodeError,
  tokensEqual,
  tokenFromHeader,
  isLoopbackHost,
  type XmlRpcValue,
} from '../../src/common/xmlrpc/index.js';

const sample: XmlRpcValue = {
  small: 42,
  neg: -7,
  big: 2 ** 40 + 3,
  frac: 0.25,
  text: 'a < b & c > d\r\nline "q" \'s\' é 漢',
  empty: '',
  yes: true,
  no: false,
  none: null,
  when: new Date(Date.UTC(2026, 10, 25, 15, 4, 5)),
  blob: Buffer.from([0, 1, 2, 250, 255]),
  list: [1, 'two', [3], { four: 4 }],
};

test('a call round-trips every value type', () => {
  const xml = encodeCall('vm.info', [sample, 'x']);
  const back = decodeCall(xml);
  assert.equal(back.method, 'vm.info');
  assert.deepEqual(back.params, [sample, 'x']);
});

test('a response round-trips, large numbers are doubles, int32 are ints', () => {
  const xml = encodeResponse(sample);
  assert.match(xml, /<double>1099511627779<\/double>/);
  assert.match(xml, /<int>42<\/int>/);
  assert.deepEqual(decodeResponse(xml), sample);
});

test('faults decode into XmlRpcFault with code and message', () => {
  assert.throws(() => decodeResponse(encodeFault(-32601, 'unknown method x')), (e: unknown) => e instanceof XmlRpcFault && e.code === -32601 && e.message === 'unknown method x');
});

test('stock forms decode: untyped value, i8, ex:nil, dashed dateTime with zone, CDATA, comments', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<methodCall><methodName>m</methodName><params>
 <param><value>plain  text </value></param>
 <param><value><i8>9007199254740991</i8></value></param>
 <param><value><ex:nil/></value></param>
 <param><value><dateTime.iso8601>2026-11-25T16:04:05+01:00</dateTime.iso8601></value></param>
 <param><value><string><![CDATA[<raw & stuff>]]></string></value></param>
 <param><value><string>&#x41;&#66;&amp;</string></value></param>
 <param><value/></param>
</params></methodCall>`;
  const { params } = decodeCall(xml);
  assert.deepEqual(params, ['plain  text ', 9007199254740991, null, new Date(Date.UTC(2026, 10, 25, 15, 4, 5)), '<raw & stuff>', 'AB&', '']);
});

test('entities are never expanded and DOCTYPE is refused', () => {
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
<methodCall><methodName>m</methodName><params><param><value>&lol2;</value></param></params></methodCall>`;
  assert.throws(() => decodeCall(bomb), (e: unknown) => e instanceof XmlRpcParseError && /DOCTYPE/.test(e.message));
  const undeclared = '<methodCall><methodName>m</methodName><params><param><value>&xxe;</value></param></params></methodCall>';
  assert.throws(() => decodeCall(undeclared), /unknown entity &xxe;/);
});

test('malformed documents give clear parse errors', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /expected the root element/],
    ['<methodCall><methodName>m</methodName>', /unterminated element/],
    ['<methodCall><methodName>m</methodNam></methodCall>', /closes <methodName>/],
    ['<methodCall><methodName>m</methodName></methodCall>trailing', /content after the root/],
    ['<methodResponse/>', /expected <methodCall>/],
    ['<methodCall><params/></methodCall>', /no <methodName>/],
    ['<methodCall><methodName>m</methodName><params><param><value><int>1.5</int></value></param></params></methodCall>', /bad <int>/],
    ['<methodCall><methodName>m</methodName><params><param><value><double>abc</double></value></param></params></methodCall>', /bad <double>/],
    ['<methodCall><methodName>m</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>', /bad <boolean>/],
    ['<methodCall><methodName>m</methodName><params><param><value><base64>@@</base64></value></param></params></methodCall>', /bad <base64>/],
    ['<methodCall><methodName>m</methodName><params><param><value><float>1</float></value></param></params></methodCall>', /unknown value type <float>/],
    ['<methodCall><methodName>m</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>', /<member> must hold/],
    ['<methodCall><methodName>a b</methodName></methodCall>', /bad method name/],
    ['<methodCall><methodName>m</methodName><params><param><value>a & b</value></param></params></methodCall>', /must start an entity/],
  ];
  for (const [xml, re] of cases) assert.throws(() => decodeCall(xml), (e: unknown) => e instanceof XmlRpcParseError && re.test(e.message), xml);
});

test('deep nesting and oversized documents are refused', () => {
  const deep = '<methodCall><methodName>m</methodName><params><param>' + '<value><array><data>'.repeat(40) + '</data></array></value>'.repeat(40) + '</param></params></methodCall>';
  assert.throws(() => decodeCall(deep), /nesting deeper than 64/);
  assert.throws(() => decodeCall('<methodCall>' + ' '.repeat(2000) + '</methodCall>', { maxBytes: 1000 }), /larger than 1000 bytes/);
});

test('values XML cannot carry are refused when encoding', () => {
  assert.throws(() => encodeResponse(NaN), XmlRpcEncodeError);
  assert.throws(() => encodeResponse('bell\u0007'), /base64/);
  // a fault message with control characters is still sendable
  assert.throws(() => decodeResponse(encodeFault(1, 'x\u0001y')), /x\?y/);
});

test('the registry checks arity and types, and multicall collects results and faults', async () => {
  const r = new MethodRegistry();
  r.register({ name: 'math.add', help: 'adds', signature: [['double', 'double', 'double']], handler: (p) => (p[0] as number) + (p[1] as number) });
  r.register({ name: 'state.set', help: 'sets', signature: [['boolean', 'string']], mutates: true, handler: () => true });
  const ctx = { caller: 'test', readOnly: false };
  assert.equal(await r.dispatch('math.add', [1, 2.5], ctx), 3.5);
  await assert.rejects(r.dispatch('math.add', [1], ctx), (e: unknown) => e instanceof XmlRpcFault && e.code === -32602 && /takes 2 argument/.test(e.message));
  await assert.rejects(r.dispatch('math.add', [1, 'x'], ctx), (e: unknown) => e instanceof XmlRpcFault && e.code === -32602 && /wants \(double, double\), got \(int, string\)/.test(e.message));
  await assert.rejects(r.dispatch('nope', [], ctx), (e: unknown) => e instanceof XmlRpcFault && e.code === -32601);
  await assert.rejects(r.dispatch('state.set', ['a'], { caller: 't', readOnly: true }), /read-only/);
  assert.deepEqual(await r.dispatch('system.methodSignature', ['math.add'], ctx), [['double', 'double', 'double']]);
  assert.equal(await r.dispatch('system.methodHelp', ['math.add'], ctx), 'adds');
  assert.ok(((await r.dispatch('system.listMethods', [], ctx)) as string[]).includes('system.multicall'));
  const mc = (await r.dispatch('system.multicall', [[{ methodName: 'math.add', params: [1, 1] }, { methodName: 'nope', params: [] }, { methodName: 'system.multicall', params: [[]] }, 'junk']], ctx)) as XmlRpcValue[];
  assert.deepEqual(mc[0], [2]);
  assert.equal((mc[1] as { faultCode: number }).faultCode, -32601);
  assert.equal((mc[2] as { faultCode: number }).faultCode, -32600);
  assert.equal((mc[3] as { faultCode: number }).faultCode, -32602);
});

test('CLI arguments parse into values and results print as JSON', () => {
  assert.equal(parseCliArg('42'), 42);
  assert.equal(parseCliArg('-1.5'), -1.5);
  assert.equal(parseCliArg('true'), true);
  assert.equal(parseCliArg('null'), null);
  assert.equal(parseCliArg('s:42'), '42');
  assert.equal(parseCliArg('web-1'), 'web-1');
  assert.equal(parseCliArg('0755'), '0755');
  assert.deepEqual(parseCliArg('{"live":true,"n":[1,2]}'), { live: true, n: [1, 2] });
  assert.equal(parseCliArg('{not json'), '{not json');
  assert.equal(formatResultJson({ b: Buffer.from('hi'), d: new Date(0) }), JSON.stringify({ b: 'aGk=', d: '1970-01-01T00:00:00.000Z' }, null, 2));
});

test('token helpers: constant-time compare, bearer and basic, loopback rule', () => {
  assert.ok(tokensEqual('secret', 'secret'));
  assert.ok(!tokensEqual('secret', 'secreT'));
  assert.ok(!tokensEqual('', 'secret'));
  assert.equal(tokenFromHeader('Bearer abc'), 'abc');
  assert.equal(tokenFromHeader('Basic ' + Buffer.from('vem:abc').toString('base64')), 'abc');
  assert.equal(tokenFromHeader('Digest x'), undefined);
  assert.ok(isLoopbackHost('127.0.0.5') && isLoopbackHost('::1') && isLoopbackHost('localhost'));
  assert.ok(!isLoopbackHost('0.0.0.0') && !isLoopbackHost('10.0.0.1') && !isLoopbackHost('::'));
});
