// A guest's serial console as a person sees it: `virsh console` under a real pty
// (node-pty), with expect()/send() helpers that time out with what was seen so far.
import * as pty from 'node-pty';
import { labEnv } from './procs.js';

export interface GuestConsole {
  /** Everything read so far (carriage returns removed). */
  readonly output: string;
  /** Waits until the output after `from` (default: where the last expect ended) matches. */
  expect(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  send(text: string): void;
  /** Runs a shell command line in the guest and returns its output (the echoed line stripped). */
  command(line: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** Opens the console and resolves once virsh says it is connected. */
export async function openGuestConsole(uri: string, vm: string, timeoutMs = 20_000): Promise<GuestConsole> {
  const c = spawnConsole(uri, vm);
  try {
    await c.expect(/Escape character is/, timeoutMs);
  } catch (e) {
    await c.close();
    throw e;
  }
  return c;
}

/** Presses Enter every second until the guest's shell prompt shows (boot may still be running). */
export async function waitForPrompt(c: GuestConsole, prompt: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    c.send('\r');
    try {
      await c.expect(prompt, Math.min(1000, Math.max(1, deadline - Date.now())));
      return;
    } catch (e) {
      if (Date.now() >= deadline) throw e;
    }
  }
}

let markers = 0;
// eslint-disable-next-line no-control-regex -- terminal escape sequences are what it removes
const CSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

function spawnConsole(uri: string, vm: string): GuestConsole {
  const proc = pty.spawn('virsh', ['-c', uri, 'console', '--force', vm], {
    name: 'vt100', cols: 200, rows: 50, env: labEnv() as Record<string, string>,
  });
  let out = '';
  let cursor = 0;
  let exited = false;
  const waiters = new Set<() => void>();
  proc.onData((d) => {
    out += d.replace(/\r/g, '');
    for (const w of waiters) w();
  });
  proc.onExit(() => {
    exited = true;
    for (const w of waiters) w();
  });
  const expect = (re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const rest = out.slice(cursor);
        const m = new RegExp(re.source, re.flags.replace('g', '')).exec(rest);
        if (m) {
          cursor += m.index + m[0].length;
          done();
          resolve(m);
        } else if (exited) {
          done();
          reject(new Error(`virsh console ${vm} exited before ${re}; output:\n${out.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} on the console of ${vm}; last output:\n${out.slice(-2000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    get output() {
      return out;
    },
    expect,
    send: (text: string) => proc.write(text),
    async command(line: string, timeoutMs = 30_000) {
      // The end marker is quoted in what we type, so the terminal's echo cannot match it.
      const n = ++markers;
      const start = out.length;
      cursor = start;
      const typed = `${line}; echo "vem-end""-${n}"`;
      proc.write(`${typed}\r`);
      await expect(new RegExp(`(^|\\n)vem-end-${n}\\n`), timeoutMs);
      // The output starts after the echo of what we typed: the last line holding the quoted
      // marker (`vem-end"`, which the command's own output never has). Line editing may put
      // escape sequences or a stray prompt into the echo, so match by line, escapes removed.
      const lines = out.slice(start, cursor).replace(CSI, '').split('\n');
      let echoed = -1;
      lines.forEach((l, i) => { if (l.includes('vem-end"')) echoed = i; });
      const body = lines.slice(echoed >= 0 ? echoed + 1 : 1).join('\n');
      return body.replace(new RegExp(`(^|\\n)vem-end-${n}\\n$`), '$1');
    },
    async close() {
      if (exited) return;
      proc.write('\x1d'); // Ctrl-] leaves virsh console
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          try {
            proc.kill('SIGKILL');
          } catch {
            // gone
          }
          resolve();
        }, 2000);
        proc.onExit(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
