// `vem call` as a user runs it, a child process against a real `vem agent --sim` child:
// options anywhere, --agent in the cluster file's forms, tokens with any characters,
// --ca-file, --raw, and transport errors that say what was reached and what to check.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { need } from '../ci.js';
import { runVem, startVemAgent, type VemRun } from '../vem-cli.js';

// What `head -c 32 /dev/urandom | base64` makes: '/', '+' and '=' included.
const TOKEN = 'g/fnuQ+7x0Zk3/aL9pQ2w+Yt8vR1s0dE=';

const vem = (...args: string[]): Promise<VemRun> => runVem(args);

async function agent(dir: string, name: string, extra: string[]): Promise<{ url: string; p: ChildProcess }> {
  const a = await startVemAgent(['--sim', '--sim-vms', '3', '--listen', '127.0.0.1:0', '--audit-log', join(dir, `${name}.jsonl`), ...extra]);
  return { url: a.url, p: a.proc };
}

describe('vem call (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-call-'));
  const kids: ChildProcess[] = [];
  const servers: Server[] = [];
  let url = '';
  let port = 0;
  const tokenFile = join(dir, 'token');
  before(async () => {
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const a = await agent(dir, 'plain', ['--token-file', tokenFile]);
    kids.push(a.p);
    url = a.url;
    port = Number(new URL(url).port);
  });
  after(() => {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGTERM');
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('options in any position, as --help shows them; --agent HOST:PORT as the cluster file takes it', async () => {
    const cluster = join(dir, 'c.yaml');
    writeFileSync(cluster, `nodes:\n  - name: t1\n    url: ${url}\n    token-file: ${tokenFile}\n`);
    for (const args of [['t1', '--cluster', cluster, 'node.info'], ['--cluster', cluster, 't1', 'node.info'], ['t1', 'node.info', `--cluster=${cluster}`]]) {
      const r = await vem('call', ...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal((JSON.parse(r.stdout) as { simulated: boolean }).simulated, true);
    }
    for (const addr of [`127.0.0.1:${port}`, `localhost:${port}`, url]) {
      const r = await vem('call', 'node.info', '--agent', addr, '--token-file', tokenFile);
      assert.equal(r.code, 0, `${addr}: ${r.stderr}`);
    }
    const bad = await vem('call', '--agent', 'no port here', 'node.info');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--agent wants http\(s\):\/\/HOST:PORT\/, HOST:PORT or unix:\/path/);
    const help = await vem('call', '--help');
    assert.match(help.stdout, /s:WORD forces a string/);
    assert.match(help.stdout, /--ca-file/);
  });

  it('a token with / + = works in the URL form; a wrong one is refused without printing it', async () => {
    const r = await vem('call', '--agent', `http://vem:${TOKEN}@127.0.0.1:${port}/`, 'vm.list');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 3);
    const wrong = 'Wr0ng/t0ken+with=signs/0123456789';
    const w = await vem('call', '--agent', `http://vem:${wrong}@127.0.0.1:${port}/`, 'vm.list');
    assert.equal(w.code, 1);
    assert.match(w.stderr, /^vem call: .*HTTP 401.*refused the token/);
    assert.ok(!w.stderr.includes(wrong) && !w.stderr.includes('Wr0ng'), w.stderr);
    // The cluster file's url: takes the same form; a refusal there names the node, never the token.
    const cf = join(dir, 'tok.yaml');
    writeFileSync(cf, `nodes:\n  - name: good\n    url: http://vem:${TOKEN}@127.0.0.1:${port}/\n  - name: bad\n    url: http://vem:${wrong}@127.0.0.1:${port}/\n`);
    const g = await vem('call', 'good', 'vm.list', '--cluster', cf);
    assert.equal(g.code, 0, g.stderr);
    const b = await vem('call', 'bad', 'vm.list', '--cluster', cf);
    assert.equal(b.code, 1);
    assert.ok(!b.stderr.includes('Wr0ng'), b.stderr);
    // An unparsable URL is named with its credentials masked.
    const u = await vem('call', '--agent', `http://vem:${wrong}@127.0.0.1:notaport/`, 'vm.list');
    assert.notEqual(u.code, 0);
    assert.ok(!u.stderr.includes('Wr0ng'), u.stderr);
  });

  it('an SSH failure names user@host:port as ssh does (brackets only for IPv6)', async () => {
    const cf = join(dir, 'ssh.yaml');
    writeFileSync(cf, `nodes:\n  - name: s1\n    ssh: root@127.0.0.1:1\n`);
    const r = await vem('call', 's1', 'node.info', '--cluster', cf);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /root@127\.0\.0\.1:1\b/);
    assert.doesNotMatch(r.stderr, /\[127\.0\.0\.1\]/);
  });

  it('--raw prints vm.xml as virsh dumpxml does; JSON otherwise', async () => {
    const list = await vem('call', '--agent', url, '--token-file', tokenFile, 'vm.list');
    const vm = (JSON.parse(list.stdout) as Array<{ name: string }>)[0]?.name as string;
    const raw = await vem('call', '--agent', url, '--token-file', tokenFile, '--raw', 'vm.xml', vm);
    assert.equal(raw.code, 0, raw.stderr);
    assert.match(raw.stdout, /^<(!--|domain)/);
    assert.match(raw.stdout, /^<domain[\s>]/m);
    assert.ok(raw.stdout.includes(`<name>${vm}</name>`));
    const json = await vem('call', '--agent', url, '--token-file', tokenFile, 'vm.xml', vm);
    assert.match(json.stdout, /^"<(!--|domain)/);
  });

  it('transport errors say what was reached and what to check', async () => {
    const web = createServer((req, res) => {
      if (req.url === '/empty') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(501, { 'Content-Type': 'text/html' }).end('<!DOCTYPE HTML>\n<html><head><title>Error response</title></head><body><h1>Unsupported method</h1></body></html>');
    });
    servers.push(web);
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    const wp = (web.address() as AddressInfo).port;
    const html = await vem('call', '--agent', `127.0.0.1:${wp}`, 'node.info');
    assert.equal(html.code, 1);
    assert.match(html.stderr, /^vem call: http:\/\/127\.0\.0\.1:\d+\/ answered HTTP 501 with an HTML page \("Error response"\), not XML-RPC \(that is a web server, not a vem agent/);
    assert.doesNotMatch(html.stderr, /DOCTYPE/);
    const empty = await vem('call', '--agent', `http://127.0.0.1:${wp}/empty`, 'node.info');
    assert.match(empty.stderr, /^vem call: .*answered HTTP 404 with an empty body: nothing answers XML-RPC at that path \(a vem agent serves at \//);
    const tlsToPlain = await vem('call', '--agent', `https://127.0.0.1:${port}/`, '--token-file', tokenFile, 'node.info');
    assert.equal(tlsToPlain.code, 1);
    assert.match(tlsToPlain.stderr, /^vem call: node agent is down: https:\/\/127\.0\.0\.1:\d+\/: TLS error: wrong version number \(the TLS handshake failed: the agent there speaks plain HTTP; use http:\/\//);
    assert.equal(tlsToPlain.stderr.trim().split('\n').length, 1, tlsToPlain.stderr);
    const refused = await vem('call', '--agent', '127.0.0.1:1', 'node.info');
    assert.match(refused.stderr, /^vem call: .*ECONNREFUSED.*\(nothing listens there/);
  });

  it('--ca-file trusts a self-signed agent; without it the hint names --ca-file', async (t) => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    // Only a missing openssl skips (outside CI); any other openssl failure fails the test.
    if (!need(t, spawnSync('openssl', ['version'], { stdio: 'ignore' }).error === undefined, 'openssl')) return;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=vem-test-agent', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    const a = await agent(dir, 'tls', ['--token-file', tokenFile, '--tls-cert', cert, '--tls-key', key]);
    kids.push(a.p);
    const no = await vem('call', '--agent', a.url, '--token-file', tokenFile, 'node.info');
    assert.equal(no.code, 1);
    assert.match(no.stderr, /give --ca-file CA\.pem/);
    const yes = await vem('call', '--token-file', tokenFile, 'node.info', '--agent', a.url, '--ca-file', cert);
    assert.equal(yes.code, 0, yes.stderr);
  });
});
