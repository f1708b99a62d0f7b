/** Shared pieces of the agent's end-to-end tests: a stock Prometheus parser, raw HTTP, waiting. */
import { execFile, spawnSync } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const PROM_SCRIPT = join(here, '..', '..', '..', 'test', 'agent', 'py', 'prom_parse.py');

/** A python3 that has prometheus_client (Debian's python3-prometheus-client), or undefined. */
export function promPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import prometheus_client'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

export type PromFamilies = Record<string, { type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }>;

export function parseProm(py: string, text: string): Promise<PromFamilies> {
  return new Promise((resolve, reject) => {
    const p = execFile(py, [PROM_SCRIPT], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`prometheus parser failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as PromFamilies);
    });
    p.stdin?.end(text);
  });
}

export function promValue(f: PromFamilies, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = f[name.replace(/_total$/, '')] ?? f[name];
  const s = fam?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

/** Sends raw bytes over TCP and returns everything the server answered until it closed. */
export function rawExchange(host: string, port: number, write: (s: net.Socket) => void, maxMs = 15_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let got = '';
    const t = setTimeout(() => s.destroy(), maxMs);
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', () => undefined);
    s.on('connect', () => write(s));
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
