/**
 * A VM's serial console with real terminal emulation: the byte stream from
 * NodeLink.openConsole() feeds a headless xterm, whose screen buffer the
 * dashboard draws into a pane (or full screen). Keys go back as raw bytes.
 */
import type { Duplex } from 'node:stream';
import xterm from '@xterm/headless';
import { escapeTags } from '../format/text.js';

const { Terminal } = xterm;

/** Ctrl-], as in telnet and virsh console: leaves the console. */
export const CONSOLE_ESCAPE = '\x1d';

export class ConsoleSession {
  private readonly term: InstanceType<typeof Terminal>;
  closed = false;
  closeReason = '';
  private listeners: Array<() => void> = [];

  constructor(readonly vm: string, private readonly stream: Duplex, cols: number, rows: number) {
    this.term = new Terminal({ cols: Math.max(10, cols), rows: Math.max(2, rows), scrollback: 500, allowProposedApi: true });
    this.term.onWriteParsed(() => this.changed());
    // The emulator answers terminal queries (cursor position, device attributes) like a real terminal would.
    this.term.onData((d) => {
      if (!this.closed) stream.write(d);
    });
    stream.on('data', (d: Buffer | string) => this.term.write(typeof d === 'string' ? d : new Uint8Array(d)));
    const end = (why: string): void => {
      if (this.closed) return;
      this.closed = true;
      this.closeReason = why;
      this.changed();
    };
    stream.on('end', () => end('console closed by the node'));
    stream.on('close', () => end('console closed'));
    stream.on('error', (e: Error) => end(`console error: ${e.message}`));
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  private changed(): void {
    for (const cb of this.listeners) cb();
  }

  /** Keys typed by the admin, as the raw bytes the terminal sent. */
  send(data: string): void {
    if (!this.closed) this.stream.write(data);
  }

  resize(cols: number, rows: number): void {
    if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(Math.max(10, cols), Math.max(2, rows));
  }

  /** The visible screen as plain text lines (no tags). */
  text(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }

  /** The visible screen with the cursor drawn in reverse video, tag-escaped for blessed. */
  tagged(): string[] {
    const b = this.term.buffer.active;
    const lines = this.text();
    const cy = b.cursorY;
    return lines.map((l, y) => {
      if (y !== cy || this.closed) return escapeTags(l);
      const chars = [...l.padEnd(b.cursorX + 1)];
      const at = chars[b.cursorX] ?? ' ';
      return escapeTags(chars.slice(0, b.cursorX).join('')) + `{inverse}${escapeTags(at)}{/inverse}` + escapeTags(chars.slice(b.cursorX + 1).join(''));
    });
  }

  close(): void {
    this.closed = true;
    this.stream.destroy();
    this.term.dispose();
  }
}
