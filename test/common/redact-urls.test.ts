// Tokens in node URLs: what is sent where, and what may be shown. The README's recipe makes base64 tokens
// (with / + =), and any token may hold '@': the userinfo runs to the last '@' before the host, and no message
// shows the secret.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { redactUrls, splitUserinfo, tokenFromHeader } from '../../src/common/xmlrpc/auth.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/client.js';
import { encodeResponse } from '../../src/common/xmlrpc/codec.js';

const TOKENS = ['plain0123', 'g/fnu+Q2=', 'a@b/c', 'x/y@z', 'p@q?r', 'h@i#j', '@lead', 'trail@', 'a:b@c', '//==++@@'];

test('splitUserinfo: the host is what follows the last @, the token is everything after the first colon', () => {
  for (const t of TOKENS) {
    for (const rest of ['127.0.0.1:18731/', '[::1]:8730/RPC2', 'node-01.lab:8730']) {
      const s = splitUserinfo(`https://vem:${t}@${rest}`);
      assert.equal(s.token, t, `token ${t} before ${rest}`);
      assert.equal(s.user, 'vem');
      assert.equal(s.url, `https://${rest}${rest.includes('/') ? '' : '/'}`, `token ${t}: the URL sent to`);
      assert.ok(!s.url.includes(t), `token ${t} left in the URL`);
      assert.ok(URL.canParse(s.url), `${s.url} parses`);
    }
  }
  // Percent-encoded tokens are decoded; a '%' that does not decode is kept as written.
  assert.equal(splitUserinfo('https://vem:a%2Fb%40c@h:1/').token, 'a/b@c');
  assert.equal(splitUserinfo('https://vem:50%off@h:1/').token, '50%off');
  // No userinfo: the URL as given. A lone user has no token.
  assert.deepEqual(splitUserinfo('http://127.0.0.1:8730/'), { url: 'http://127.0.0.1:8730/' });
  assert.deepEqual(splitUserinfo('https://vem@h:1/x'), { url: 'https://h:1/x', user: 'vem' });
  assert.deepEqual(splitUserinfo('unix:/run/vem.sock'), { url: 'unix:/run/vem.sock' });
});

test('redactUrls: no token of any shape survives in an error or a log line', () => {
  for (const t of TOKENS) {
    const text = `node agent: 'https://vem:${t}@127.0.0.1:18731/' is not a URL; retry https://vem:${t}@h:1/RPC2 later`;
    const out = redactUrls(text);
    assert.equal(out, "node agent: 'https://vem:***@127.0.0.1:18731/' is not a URL; retry https://vem:***@h:1/RPC2 later", `token ${t}`);
  }
  // A lone http(s) user may be the token itself; libvirt and ssh users are names and stay.
  assert.equal(redactUrls('GET https://s3cr3t@h:1/ failed'), 'GET https://***@h:1/ failed');
  assert.equal(redactUrls('qemu+ssh://root@node-01/system and ssh://admin@h:22'), 'qemu+ssh://root@node-01/system and ssh://admin@h:22');
  assert.equal(redactUrls('http://127.0.0.1:8730/ is fine'), 'http://127.0.0.1:8730/ is fine');
});

test('tokenFromHeader: Bearer, and Basic whose password is the token (colons and @ kept)', () => {
  for (const t of TOKENS) {
    assert.equal(tokenFromHeader(`Bearer ${t}`), t);
    assert.equal(tokenFromHeader(`Basic ${Buffer.from(`vem:${t}`).toString('base64')}`), t);
  }
  assert.equal(tokenFromHeader(undefined), undefined);
  assert.equal(tokenFromHeader('Digest abc'), undefined);
});

test('a client given https://vem:TOKEN@host/ sends every token, @ and / included, to that host only, in the header', async () => {
  const seen: { auth?: string; url?: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    seen.push({ auth: req.headers.authorization, url: req.url });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml' }).end(encodeResponse('pong')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const t of TOKENS) {
      const c = new XmlRpcClient({ url: `http://vem:${t}@127.0.0.1:${port}/RPC2` });
      try {
        assert.equal(await c.call('ping'), 'pong', `token ${t}`);
      } finally {
        c.close();
      }
      const got = seen.at(-1);
      assert.equal(got?.url, '/RPC2', `token ${t}: path`);
      assert.equal(tokenFromHeader(got?.auth), t, `token ${t}: header`);
    }
    assert.equal(seen.length, TOKENS.length);
  } finally {
    server.close();
  }
});
