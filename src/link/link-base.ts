/** State keeping shared by both kinds of link: the current state, its events, and waiting for 'up'. */
import { EventEmitter } from 'node:events';
import { VemError } from '../common/errors.js';
import type { LinkState } from './types.js';

/** A call on a link that is not up: says which node and why, so the TUI can show it as is. */
export class LinkDownError extends VemError {
  constructor(
    readonly node: string,
    readonly state: LinkState,
    detail?: string,
  ) {
    super(`node ${node} is ${state === 'down' ? 'down' : state}${detail ? `: ${detail}` : ''}`, hintFor(state));
  }
}

function hintFor(s: LinkState): string | undefined {
  switch (s) {
    case 'auth-failed': return 'load a key into ssh-agent (ssh-add) or set identity: in the cluster file';
    case 'hostkey-unknown': return 'check the fingerprint, then trust the key (in the TUI, or ssh to the node once)';
    case 'hostkey-refused': return 'the node shows a different host key than known_hosts holds; find out why before removing the old entry';
    default: return undefined;
  }
}

export class LinkStateKeeper {
  state: LinkState = 'connecting';
  detail?: string;
  private readonly ev = new EventEmitter();
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];

  constructor(readonly name: string) {
    this.ev.setMaxListeners(0);
  }

  set(s: LinkState, detail?: string): void {
    const changed = s !== this.state || detail !== this.detail;
    this.state = s;
    this.detail = detail;
    if (s !== 'connecting') {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) {
        clearTimeout(w.timer);
        if (s === 'up') w.resolve();
        else w.reject(new LinkDownError(this.name, s, detail));
      }
    }
    if (changed) this.ev.emit('state', s, detail);
  }

  on(cb: (s: LinkState, detail?: string) => void): void {
    this.ev.on('state', cb);
  }

  off(cb: (s: LinkState, detail?: string) => void): void {
    this.ev.off('state', cb);
  }

  /** Resolves when up; waits while connecting (at most timeoutMs); rejects at once in any other state. */
  whenUp(timeoutMs: number): Promise<void> {
    if (this.state === 'up') return Promise.resolve();
    if (this.state !== 'connecting') return Promise.reject(new LinkDownError(this.name, this.state, this.detail));
    return new Promise((resolve, reject) => {
      const w = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new LinkDownError(this.name, 'connecting', `still connecting after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }
}

/** The state half of every link kind (direct, SSH, agentless): read from one LinkStateKeeper. */
export abstract class StatefulLink {
  protected readonly st: LinkStateKeeper;

  constructor(name: string) {
    this.st = new LinkStateKeeper(name);
  }

  get state(): LinkState {
    return this.st.state;
  }
  get detail(): string | undefined {
    return this.st.detail;
  }
  on(_ev: 'state', cb: (s: LinkState, detail?: string) => void): void {
    this.st.on(cb);
  }
  off(_ev: 'state', cb: (s: LinkState, detail?: string) => void): void {
    this.st.off(cb);
  }
}
