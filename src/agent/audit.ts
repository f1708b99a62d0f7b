/**
 * The write-ahead audit log: one JSON line per record, appended with one
 * write(2) each on an O_APPEND descriptor, synchronously, so a line is in the
 * kernel before the call goes on (it survives a SIGKILL of the agent; with
 * `durable` it is also fdatasync'ed, for power loss).
 *
 * A change writes two lines: its intent before the handler runs
 *   {"time","id","intent":{"caller","method","args"}}
 * and its outcome before the reply is sent (the complete record, as readers
 * of a one-line-per-call log expect)
 *   {"time","id","caller","method","args","result","ms"}
 * If the intent cannot be written (disk full, the file removed, no permission)
 * the change is refused with AuditUnavailableError; reads never touch the log.
 * An intent without a result line is a change whose outcome was never answered
 * (the agent died during it). A torn last line (power loss mid-write) is
 * terminated at open and counted; readAuditLog skips such lines with a count.
 */
import { closeSync, fdatasyncSync, fstatSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { VemError } from '../common/errors.js';
import { toJsonValue, type XmlRpcValue } from '../common/xmlrpc/value.js';

export interface AuditRecord {
  caller: string;
  method: string;
  args: XmlRpcValue[];
  ok: boolean;
  result?: XmlRpcValue;
  fault?: { code: number; message: string };
  ms?: number;
  /** The intent this outcome closes (write-ahead pairs). */
  id?: string;
}

/** Fault code of a change refused because its audit record could not be written. */
export const AUDIT_UNAVAILABLE = 1010;

export class AuditUnavailableError extends VemError {
  readonly code = AUDIT_UNAVAILABLE;
}

const MAX_STRING = 64 * 1024;

function trimmed(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…[${v.length - MAX_STRING} more chars]` : v;
  if (Array.isArray(v)) return v.map(trimmed);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, trimmed(x)]));
  return v;
}

export function auditLine(r: AuditRecord, now = new Date()): string {
  const o: Record<string, unknown> = { time: now.toISOString() };
  if (r.id !== undefined) o.id = r.id;
  o.caller = r.caller;
  o.method = r.method;
  o.args = trimmed(toJsonValue(r.args));
  if (r.ok) o.result = trimmed(toJsonValue(r.result ?? null));
  else o.result = { fault: r.fault };
  if (r.ms !== undefined) o.ms = Math.round(r.ms * 10) / 10;
  return JSON.stringify(o) + '\n';
}

export function intentLine(id: string, caller: string, method: string, args: XmlRpcValue[], now = new Date()): string {
  return JSON.stringify({ time: now.toISOString(), id, intent: { caller, method, args: trimmed(toJsonValue(args)) } }) + '\n';
}

export interface AuditLogOptions {
  /** fdatasync after every record (survives power loss; costs a disk flush per change). */
  durable?: boolean;
  /** Told once per unclean-stop repair and per failure to write (the event log, stderr). */
  onNotice?: (kind: 'torn-line' | 'write-failed' | 'reopened', message: string) => void;
}

export class AuditLog {
  private fd: number | undefined;
  private ino = 0;
  private dev = 0;
  private seq = 0;
  private readonly prefix = Date.now().toString(36);
  /** Torn last lines found (and terminated) when the log was opened. */
  readonly tornAtOpen: number;
  /** Changes refused because their record could not be written, since start. */
  refused = 0;
  private lastFailure: string | undefined;

  constructor(
    readonly path: string,
    private readonly o: AuditLogOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.open();
    this.tornAtOpen = this.repairTail();
  }

  private open(): void {
    const fd = openSync(this.path, 'a', 0o600);
    const st = fstatSync(fd);
    this.fd = fd;
    this.ino = st.ino;
    this.dev = st.dev;
  }

  /** A last line without its newline (power loss mid-write): terminate it so the next record starts clean. */
  private repairTail(): number {
    const fd = this.fd as number;
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const b = Buffer.alloc(1);
    const rfd = openSync(this.path, 'r');
    try {
      readSync(rfd, b, 0, 1, size - 1);
    } finally {
      closeSync(rfd);
    }
    if (b[0] === 0x0a) return 0;
    writeSync(fd, '\n');
    this.o.onNotice?.('torn-line', `audit log ${this.path}: its last line was torn (the agent stopped uncleanly mid-write); it is skipped by readers`);
    return 1;
  }

  /**
   * Why records cannot be written now, or undefined. A file removed (or moved away) is not
   * silently replaced: changes wait until a file is at the path again (touch it) — then it is reopened.
   */
  private check(): string | undefined {
    let st;
    try {
      st = statSync(this.path);
    } catch (e) {
      return `the audit log ${this.path} was removed (${(e as NodeJS.ErrnoException).code ?? 'gone'}); create it again (touch ${this.path}) to allow changes`;
    }
    if (st.ino !== this.ino || st.dev !== this.dev) {
      // Rotated: a new file stands at the path. Continue there.
      try {
        const old = this.fd;
        this.open();
        if (old !== undefined) closeSync(old);
        this.o.onNotice?.('reopened', `audit log ${this.path}: a new file is at the path (rotated); records continue there`);
      } catch (e) {
        return `the audit log ${this.path} was replaced and cannot be opened: ${(e as Error).message}`;
      }
    }
    return undefined;
  }

  private append(line: string): void {
    if (this.fd === undefined) throw new Error('closed');
    const b = Buffer.from(line, 'utf8');
    // One write(2) of an O_APPEND file: a line is never interleaved with another; a short write is finished.
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    if (this.o.durable) fdatasyncSync(this.fd);
  }

  /** Writes a change's intent; throws AuditUnavailableError (the change must then not be made). Returns the record id. */
  intent(caller: string, method: string, args: XmlRpcValue[]): string {
    const id = `${this.prefix}-${++this.seq}`;
    const why = this.check() ?? this.tryAppend(intentLine(id, caller, method, args));
    if (why !== undefined) {
      this.refused++;
      if (why !== this.lastFailure) this.o.onNotice?.('write-failed', why);
      this.lastFailure = why;
      throw new AuditUnavailableError(`${method} refused: ${why}`, 'reads keep working; changes resume once the audit log can be written');
    }
    this.lastFailure = undefined;
    return id;
  }

  private tryAppend(line: string): string | undefined {
    try {
      this.append(line);
      return undefined;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const what = err.code === 'ENOSPC' ? 'the disk is full' : err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS' ? 'no permission to write it' : err.message;
      return `cannot write the audit log ${this.path}: ${what} (${err.code ?? 'error'})`;
    }
  }

  /** Writes a complete record (an outcome, or a one-line event such as a console open). Never throws. */
  write(r: AuditRecord): void {
    const why = this.tryAppend(auditLine(r));
    if (why !== undefined && why !== this.lastFailure) {
      this.lastFailure = why;
      this.o.onNotice?.('write-failed', `${r.method}${r.id ? ` (intent ${r.id})` : ''}: outcome not recorded: ${why}`);
    }
  }

  close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return Promise.resolve();
  }
}

export interface AuditEntry {
  time: string;
  id?: string;
  intent?: { caller: string; method: string; args: unknown[] };
  caller?: string;
  method?: string;
  args?: unknown[];
  result?: unknown;
  ms?: number;
}

/** Every whole record of an audit log, skipping torn or unreadable lines (counted). */
export function readAuditLog(path: string): { entries: AuditEntry[]; torn: number } {
  const text = readFileSync(path, 'utf8');
  const entries: AuditEntry[] = [];
  let torn = 0;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const l of lines) {
    if (l === '') continue;
    try {
      const o = JSON.parse(l) as unknown;
      if (typeof o !== 'object' || o === null || typeof (o as AuditEntry).time !== 'string') throw new Error('not a record');
      entries.push(o as AuditEntry);
    } catch {
      torn++;
    }
  }
  return { entries, torn };
}
