// Drives a guest's shell through a console Duplex opened by our client (not virsh).
import type { Duplex } from 'node:stream';

export interface ConsoleShell {
  /** Waits for `re` in the output that arrived after the last match. */
  expect(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  send(text: string): void;
  output(): string;
}

export function consoleShell(stream: Duplex): ConsoleShell {
  let out = '';
  let cursor = 0;
  const waiters = new Set<() => void>();
  stream.on('error', () => undefined); // the guest going away ends the console; expect() then times out with the output
  stream.on('data', (b: Buffer) => {
    out += b.toString('utf8').replace(/\r/g, '');
    for (const w of [...waiters]) w();
  });
  return {
    output: () => out,
    send: (t) => void stream.write(t),
    expect(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = re.exec(out.slice(cursor));
          if (!m) return false;
          cursor += m.index + m[0].length;
          return (resolve(m), true);
        };
        if (check()) return;
        const w = (): void => {
          if (check()) done();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`console: no ${re} within ${timeoutMs} ms; last output: ${JSON.stringify(out.slice(-400))}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(w);
        };
        waiters.add(w);
      });
    },
  };
}

/** Presses Enter until the prompt shows (boot may still be running). */
export async function waitPrompt(c: ConsoleShell, prompt: RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    c.send('\r');
    try {
      await c.expect(prompt, 1500);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
}
