/**
 * Drives a real terminal program in a private tmux server, as a person would:
 * send-keys in, capture-pane out. Each instance has its own socket (-L) and is
 * ended with kill-server on that socket only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let seq = 0;

export function haveTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

export class Tmux {
  readonly socket = `vem-tui-${process.pid}-${++seq}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'vem-tui-e2e-'));
  readonly codeFile = join(this.dir, 'exit-code');

  /** Starts `argv` in a detached session of the given size; its exit code lands in a file. */
  constructor(argv: string[], o: { width: number; height: number; env?: Record<string, string>; cwd?: string }) {
    const env = Object.entries({ LANG: 'C.UTF-8', TERM: 'xterm-256color', ...o.env })
      .map(([k, v]) => `${k}=${shellQuote(v)}`)
      .join(' ');
    const cmd = `cd ${shellQuote(o.cwd ?? process.cwd())} && env ${env} ${argv.map(shellQuote).join(' ')} 2>${shellQuote(join(this.dir, 'stderr'))}; echo $? > ${shellQuote(this.codeFile)}; sleep 600`;
    this.tmux('new-session', '-d', '-x', String(o.width), '-y', String(o.height), cmd);
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** tmux key names (Enter, Escape, C-], Space) or literal text with `literal`. */
  keys(...keys: string[]): void {
    this.tmux('send-keys', ...keys);
  }

  type(text: string): void {
    this.tmux('send-keys', '-l', text);
  }

  capture(): string {
    return this.tmux('capture-pane', '-p');
  }

  /** Polls the screen until `test` holds; throws with the last screen when it never does. */
  async waitFor(test: RegExp | ((screen: string) => boolean), timeoutMs = 15_000, what = String(test)): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    while (Date.now() < deadline) {
      screen = this.capture();
      if (typeof test === 'function' ? test(screen) : test.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; screen was:\n${screen}\nstderr:\n${this.stderr()}`);
  }

  /** Waits for `test`, then until three captures 250 ms apart agree (the terminal finished drawing). */
  async waitStable(test: RegExp | ((screen: string) => boolean), timeoutMs = 15_000): Promise<string> {
    let prev = await this.waitFor(test, timeoutMs);
    let same = 0;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const cur = this.capture();
      same = cur === prev ? same + 1 : 0;
      prev = cur;
      if (same >= 2 && (typeof test === 'function' ? test(cur) : test.test(cur))) return cur;
    }
    return prev;
  }

  stderr(): string {
    try {
      return readFileSync(join(this.dir, 'stderr'), 'utf8');
    } catch {
      return '';
    }
  }

  /** The program's exit code once it has ended (undefined while it runs). */
  exitCode(): number | undefined {
    if (!existsSync(this.codeFile)) return undefined;
    const t = readFileSync(this.codeFile, 'utf8').trim();
    return t === '' ? undefined : Number(t);
  }

  async waitExit(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const c = this.exitCode();
      if (c !== undefined) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the program did not exit; screen:\n${this.capture()}`);
  }

  /** tmux's own view of the pane: alternate screen and cursor visibility. */
  paneFlags(): { alternate: boolean; cursorVisible: boolean } {
    const [alt, cur] = this.tmux('display-message', '-p', '#{alternate_on} #{cursor_flag}').trim().split(' ');
    return { alternate: alt === '1', cursorVisible: cur === '1' };
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    rmSync(this.dir, { recursive: true, force: true });
    // tmux leaves its socket file behind; it is ours, so tidy it.
    rmSync(join(process.env['TMUX_TMPDIR'] ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The VM table's rows on a screen: [name, node, state] for each line that looks like one. */
export function tableRows(screen: string): Array<{ name: string; node: string; state: string; line: string }> {
  const out: Array<{ name: string; node: string; state: string; line: string }> = [];
  const lines = screen.split('\n');
  const head = lines.findIndex((l) => /^\s*NAME\s+NODE\s+STATE/.test(l));
  if (head < 0) return out;
  for (const line of lines.slice(head + 1)) {
    const m = /^[ *>] (\S+)\s+(\S+)\s+(\S+(?: \d\d:\d\d| never)?)\s+\d+\s/.exec(line);
    if (!m) break;
    out.push({ name: m[1] ?? '', node: m[2] ?? '', state: m[3] ?? '', line });
  }
  return out;
}
