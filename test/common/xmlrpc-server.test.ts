import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MethodRegistry, startXmlRpcServer, XmlRpcClient, XmlRpcFault, XmlRpcHttpError, type RunningXmlRpcServer, type XmlRpcValue } from '../../src/common/xmlrpc/index.js';
import { pythonCalls } from './xmlrpc-peer.js';

const TOKEN = 'tok-' + Math.random().toString(36).slice(2);
let server: RunningXmlRpcServer;
let dir: string;
const calls: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vem-xmlrpc-'));
  const r = new MethodRegistry();
  r.register({ name: 'echo', help: 'Returns its argument.', signature: [['undef', 'undef']], handler: (p) => p[0] as XmlRpcValue });
  r.register({ name: 'add', help: 'Adds two numbers.', signature: [['double', 'double', 'double']], handler: (p) => (p[0] as number) + (p[1] as number) });
  r.register({ name: 'big', help: 'A counter above 2^32.', signature: [['double']], handler: () => 5 * 2 ** 40 + 7 });
  r.register({ name: 'fail', help: 'Always fails.', signature: [['nil']], handler: () => { throw new Error('boom'); } });
  r.register({ name: 'slow', help: 'Waits.', signature: [['boolean', 'int']], handler: (p) => new Promise((res) => setTimeout(() => res(true), p[0] as number)) });
  r.onCall = (rec) => calls.push(rec.method);
  server = await startXmlRpcServer({ registry: r, listen: '127.0.0.1:0', socket: join(dir, 'rpc.sock'), token: TOKEN, maxBodyBytes: 64 * 1024, headersTimeoutMs: 1500, requestTimeoutMs: 2000 });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const script: Array<[string, unknown[]]> = [
  ['system.listMethods', []],
  ['system.methodHelp', ['add']],
  ['system.methodSignature', ['add']],
  ['echo', [{ s: 'a<&>b', i: 7, f: 1.5, t: true, n: null, list: [1, [2]], b: { $b64: 'AAEC/w==' }, d: { $date: '2026-11-25T15:04:05' }, huge: { $big: 2 ** 50 + 1 } }]],
  ['add', [2, 3]],
  ['big', []],
  ['add', [1]],
  ['add', [1, 'x']],
  ['nope', []],
  ['fail', []],
  ['$multicall', [['add', [1, 2]], ['nope', []], ['echo', ['x']]]],
];

function checkPeerResults(r: Awaited<ReturnType<typeof pythonCalls>>): void {
  assert.ok((r[0]?.ok as string[]).includes('system.multicall'));
  assert.equal(r[1]?.ok, 'Adds two numbers.');
  assert.deepEqual(r[2]?.ok, [['double', 'double', 'double']]);
  assert.deepEqual(r[3]?.ok, { s: 'a<&>b', i: 7, f: { $float: 1.5 }, t: true, n: null, list: [1, [2]], b: { $b64: 'AAEC/w==' }, d: { $date: '2026-11-25T15:04:05' }, huge: { $float: 2 ** 50 + 1 } });
  assert.equal(r[4]?.ok, 5);
  assert.deepEqual(r[5]?.ok, { $float: 5 * 2 ** 40 + 7 });
  assert.equal(r[6]?.fault, -32602);
  assert.match(r[6]?.message ?? '', /takes 2 argument/);
  assert.equal(r[7]?.fault, -32602);
  assert.equal(r[8]?.fault, -32601);
  assert.equal(r[9]?.fault, -32603);
  assert.match(r[9]?.message ?? '', /boom/);
  assert.deepEqual(r[10]?.ok, [{ ok: 3 }, { fault: -32601, message: "unknown method 'nope'" }, { ok: 'x' }]);
}

test('python3 xmlrpc.client calls the server over TCP', async () => {
  checkPeerResults(await pythonCalls(server.tcpUrl as string, TOKEN, script));
});

test('python3 xmlrpc.client calls the server over the unix socket (mode 0600)', async () => {
  assert.equal(statSync(server.socketPath as string).mode & 0o777, 0o600);
  checkPeerResults(await pythonCalls(`unix:${server.socketPath}`, TOKEN, script));
});

test('a wrong or missing token gets HTTP 401 from python and from our client', async () => {
  const before = calls.length;
  const r = await pythonCalls(server.tcpUrl as string, 'wrong', [['add', [1, 2]]]);
  assert.equal(r[0]?.http, 401);
  const noTok = new XmlRpcClient({ url: server.tcpUrl });
  await assert.rejects(noTok.call('add', 1, 2), (e: unknown) => e instanceof XmlRpcHttpError && e.status === 401);
  noTok.close();
  assert.deepEqual(calls.slice(before), [], 'a call refused with 401 never reaches a method or the call hook');
});

test('our client: faults, round trip, basic-auth token in URL', async () => {
  const c = new XmlRpcClient({ url: (server.tcpUrl as string).replace('http://', `http://vem:${TOKEN}@`) });
  const before = calls.length;
  assert.equal(await c.call('add', 2 ** 40, 1), 2 ** 40 + 1);
  await assert.rejects(c.call('fail'), (e: unknown) => e instanceof XmlRpcFault && /boom/.test(e.message));
  await assert.rejects(c.call('nope'), (e: unknown) => e instanceof XmlRpcFault && e.code === -32601);
  c.close();
  // The call hook (the agent's audit log hangs on it) sees each call, the failed one too.
  assert.deepEqual(calls.slice(before, before + 2), ['add', 'fail']);
});

async function rawHttp(body: string | null, opts: { headers?: string; trickle?: boolean } = {}): Promise<string> {
  const addr = new URL(server.tcpUrl as string);
  return new Promise((resolve) => {
    const s = net.connect(Number(addr.port), addr.hostname);
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
    if (opts.trickle) {
      s.write(`POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\n<me`);
      const t = setInterval(() => s.writable && s.write('x'), 400);
      s.on('close', () => clearInterval(t));
    } else {
      s.end(`POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${TOKEN}\r\n${opts.headers ?? ''}Content-Length: ${Buffer.byteLength(body ?? '')}\r\n\r\n${body ?? ''}`);
    }
  });
}

test('bad input: malformed XML, oversized body, slow sender, then a good call works', async () => {
  const c = new XmlRpcClient({ url: server.tcpUrl, token: TOKEN });
  const malformed = await c.post('<methodCall><methodName>add</methodName><params>');
  assert.match(malformed, /<int>-32700<\/int>.*unterminated element/s);
  const bomb = await c.post('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>echo</methodName><params><param><value>&a;</value></param></params></methodCall>');
  assert.match(bomb, /-32700.*DOCTYPE/s);
  const big = await rawHttp('<methodCall><methodName>echo</methodName><params><param><value>' + 'x'.repeat(70 * 1024) + '</value></param></params></methodCall>');
  assert.match(big, /^HTTP\/1.1 413/);
  const t0 = Date.now();
  const slow = await rawHttp(null, { trickle: true });
  assert.ok(!slow.includes('200 OK'), 'a slow sender must not get an answer');
  assert.ok(Date.now() - t0 < 8000, 'the slow sender was cut off');
  assert.equal(await c.call('add', 1, 2), 3);
  c.close();
});

test('refuses a non-loopback listen address without TLS and token', async () => {
  await assert.rejects(startXmlRpcServer({ registry: new MethodRegistry(), listen: '0.0.0.0:0' }), /non-loopback.*TLS/);
  await assert.rejects(startXmlRpcServer({ registry: new MethodRegistry(), listen: '0.0.0.0:0', token: 'x' }), /non-loopback/);
});

test('a second server on the same live socket is refused', async () => {
  await assert.rejects(startXmlRpcServer({ registry: new MethodRegistry(), socket: server.socketPath }), /in use/);
});
