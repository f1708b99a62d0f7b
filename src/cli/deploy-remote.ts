/** A node's SSH connection as `vem deploy` uses it: run a script (stdin optional), and reach the agent's socket through the tunnel. */
import type { Duplex } from 'node:stream';
import type { Client as SshClient } from 'ssh2';
import { VemError } from '../common/errors.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { callOver, StreamAgent } from '../link/http-over.js';
import type { SshChain } from '../link/ssh-connect.js';
import { shCommand } from './deploy-script.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The SSH connection went away while a step was under way. */
export class LinkDroppedError extends VemError {}

export class RemoteNode {
  private dropped?: string;

  constructor(
    readonly name: string,
    private readonly chain: SshChain,
  ) {
    const c = chain.client;
    c.on('error', (e: Error) => (this.dropped ??= e.message));
    c.on('close', () => (this.dropped ??= 'connection closed'));
  }

  private get client(): SshClient {
    return this.chain.client;
  }

  /**
   * Runs `script` with sh; `stdin` is written in chunks (onProgress after each), honouring
   * the channel's flow control. Rejects with LinkDroppedError when the link goes mid-way.
   */
  exec(script: string, stdin?: Buffer | string, onProgress?: (sent: number, total: number) => void): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (this.dropped) {
        reject(new LinkDroppedError(`the SSH link to ${this.name} is gone (${this.dropped})`));
        return;
      }
      let out = '';
      let err = '';
      let code: number | null = null;
      let exited = false;
      let done = false;
      const finish = (e?: Error): void => {
        if (done) return;
        done = true;
        this.client.removeListener('close', onClose);
        if (e) reject(e);
        else resolve({ code, stdout: out, stderr: err });
      };
      const onClose = (): void => finish(new LinkDroppedError(`the SSH link to ${this.name} dropped (${this.dropped ?? 'connection closed'})`));
      this.client.once('close', onClose);
      this.client.exec(shCommand(script), (e, ch) => {
        if (e) {
          finish(new LinkDroppedError(`cannot run a command on ${this.name}: ${e.message}`));
          return;
        }
        ch.on('data', (d: Buffer) => (out += d.toString()));
        ch.stderr.on('data', (d: Buffer) => (err += d.toString()));
        ch.on('exit', (c: number | null) => {
          exited = true;
          code = c;
        });
        ch.on('close', () => {
          if (!exited) finish(new LinkDroppedError(`the SSH link to ${this.name} dropped (${this.dropped ?? 'the command channel closed before the command ended'})`));
          else finish();
        });
        ch.on('error', (x: Error) => finish(new LinkDroppedError(`the SSH link to ${this.name} dropped (${x.message})`)));
        void writeAll(ch, stdin, onProgress).catch(() => undefined);
      });
    });
  }

  /** Calls the agent at a unix socket on the node, through a stream-local channel of this connection. */
  async callAgent(socket: string, method: string, params: XmlRpcValue[], token: string | undefined, timeoutMs: number): Promise<XmlRpcValue> {
    const open = (): Promise<Duplex> =>
      new Promise((resolve, reject) => this.client.openssh_forwardOutStreamLocal(socket, (e, ch) => (e ? reject(e) : resolve(ch))));
    const agent = new StreamAgent(open, 1);
    try {
      return await callOver(agent, method, params, { token, timeoutMs });
    } finally {
      agent.destroy();
    }
  }
}

async function writeAll(ch: Duplex, data: Buffer | string | undefined, onProgress?: (sent: number, total: number) => void): Promise<void> {
  if (data === undefined) {
    ch.end();
    return;
  }
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const CHUNK = 64 * 1024;
  for (let at = 0; at < buf.length; at += CHUNK) {
    if (ch.destroyed) return;
    const ok = ch.write(buf.subarray(at, at + CHUNK));
    onProgress?.(Math.min(at + CHUNK, buf.length), buf.length);
    if (!ok) await new Promise<void>((r) => {
      const go = (): void => {
        ch.removeListener('drain', go);
        ch.removeListener('close', go);
        r();
      };
      ch.once('drain', go);
      ch.once('close', go);
    });
  }
  ch.end();
}
