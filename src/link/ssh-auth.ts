/** Authentication for one hop: ssh-agent keys first, then identity files; an encrypted key's passphrase is asked once. */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthHandlerMiddleware, AuthenticationType, ParsedKey } from 'ssh2';
import type { SshHop } from './ssh-config.js';

/** Returns the passphrase for a key file, or undefined to skip that key. */
export type AskPassphrase = (keyPath: string, attempt: number) => Promise<string | undefined>;

/** Decrypted keys by path, shared by every link of the process so each passphrase is asked once. */
const keyCache = new Map<string, Promise<ParsedKey | null>>();

export function forgetCachedKeys(): void {
  keyCache.clear();
}

function parse(data: Buffer, passphrase?: string): ParsedKey | Error {
  const k = ssh2.utils.parseKey(data, passphrase);
  if (k instanceof Error) return k;
  return Array.isArray(k) ? (k[0] as ParsedKey) : k;
}

/** Loads a private key, asking for its passphrase (up to 3 tries) when it is encrypted. Null when absent or given up. */
export function loadIdentity(path: string, ask: AskPassphrase | undefined, note: (msg: string) => void): Promise<ParsedKey | null> {
  let p = keyCache.get(path);
  if (!p) {
    p = (async () => {
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch (e) {
        note(`identity ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
        return null;
      }
      const plain = parse(data);
      if (!(plain instanceof Error)) return plain;
      if (!/encrypted|passphrase/i.test(plain.message)) {
        note(`identity ${path}: ${plain.message}`);
        return null;
      }
      if (!ask) {
        note(`identity ${path} is encrypted and no passphrase prompt is available (load it into ssh-agent)`);
        return null;
      }
      for (let attempt = 1; attempt <= 3; attempt++) {
        const pass = await ask(path, attempt);
        if (pass === undefined) break;
        const k = parse(data, pass);
        if (!(k instanceof Error)) return k;
      }
      note(`identity ${path}: no correct passphrase given`);
      return null;
    })();
    keyCache.set(path, p);
    // A key that could not be loaded may be fixed meanwhile (file created, ssh-add): do not remember failures.
    void p.then((k) => {
      if (k === null) keyCache.delete(path);
    });
  }
  return p;
}

/**
 * ssh2 auth handler: agent (when SSH_AUTH_SOCK is set and IdentitiesOnly is not), then each identity file.
 * `notes` collects why keys were skipped, for the 'auth-failed' detail.
 */
export function makeAuthHandler(hop: SshHop, o: { agentSocket?: string; ask?: AskPassphrase; notes: string[] }): AuthHandlerMiddleware {
  const steps: Array<() => Promise<Parameters<Parameters<AuthHandlerMiddleware>[2]>[0] | null>> = [];
  const agentSock = o.agentSocket;
  if (agentSock && !(hop.identitiesOnly && hop.identitiesConfigured)) {
    steps.push(async () => ({ type: 'agent', username: hop.user, agent: agentSock }));
  }
  for (const file of hop.identityFiles) {
    steps.push(async () => {
      const key = await loadIdentity(file, o.ask, (m) => o.notes.push(m));
      return key ? { type: 'publickey', username: hop.user, key } : null;
    });
  }
  let i = 0;
  return (_methodsLeft: AuthenticationType[], _partial: boolean, next) => {
    const advance = (): void => {
      const step = steps[i++];
      if (!step) {
        next(false as unknown as AuthenticationType);
        return;
      }
      step().then(
        (m) => (m ? next(m) : advance()),
        () => advance(),
      );
    };
    advance();
  };
}

/** Reads a passphrase on the controlling terminal without echoing it. */
export function terminalPassphrase(): AskPassphrase {
  // Links connect in parallel; their questions go to the one terminal one after another.
  let queue: Promise<unknown> = Promise.resolve();
  return (path, attempt) => {
    const next = queue.then(() => askOnTerminal(path, attempt));
    queue = next.catch(() => undefined);
    return next;
  };
}

function askOnTerminal(path: string, attempt: number): Promise<string | undefined> {
  return new Promise((resolve) => {
      if (!process.stdin.isTTY) {
        resolve(undefined);
        return;
      }
      let muted = false;
      const out = new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (!muted) process.stderr.write(chunk);
          cb();
        },
      });
      const rl = createInterface({ input: process.stdin, output: out, terminal: true });
      rl.question(`${attempt > 1 ? 'Wrong passphrase. ' : ''}Enter passphrase for key '${path}': `, (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
      muted = true;
      rl.on('SIGINT', () => {
        rl.close();
        process.stderr.write('\n');
        resolve(undefined);
      });
  });
}
