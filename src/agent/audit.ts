/** The audit log: one JSON line per call that changes anything (time, caller, method, arguments, result). */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { toJsonValue, type XmlRpcValue } from '../common/xmlrpc/value.js';

export interface AuditRecord {
  caller: string;
  method: string;
  args: XmlRpcValue[];
  ok: boolean;
  result?: XmlRpcValue;
  fault?: { code: number; message: string };
  ms?: number;
}

const MAX_STRING = 64 * 1024;

function trimmed(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…[${v.length - MAX_STRING} more chars]` : v;
  if (Array.isArray(v)) return v.map(trimmed);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, trimmed(x)]));
  return v;
}

export function auditLine(r: AuditRecord, now = new Date()): string {
  const o: Record<string, unknown> = { time: now.toISOString(), caller: r.caller, method: r.method, args: trimmed(toJsonValue(r.args)) };
  if (r.ok) o.result = trimmed(toJsonValue(r.result ?? null));
  else o.result = { fault: r.fault };
  if (r.ms !== undefined) o.ms = Math.round(r.ms * 10) / 10;
  return JSON.stringify(o) + '\n';
}

export class AuditLog {
  private readonly stream: WriteStream;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.stream.on('error', (e) => process.stderr.write(`vem agent: audit log ${path}: ${e.message}\n`));
  }

  write(r: AuditRecord): void {
    this.stream.write(auditLine(r));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
